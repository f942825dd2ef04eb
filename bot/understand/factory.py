"""Build an Understander from the data files (and, where given, what staff taught)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.infra.resources import resource_dir
from bot.understand.examples import INTENTS_FILE, load_specs
from bot.understand.items import closing_items, load_item_names
from bot.understand.lexicon import CONTEXT_FILE, ContextWords
from bot.understand.statement_gate import load_statements
from bot.understand.understander import Understander

GUIDE_FILE = resource_dir("data/guide") / "steps.yaml"


def item_counts(guide_file: Path = GUIDE_FILE) -> dict[int, int]:
    from bot.core.guide import Guide

    return {step.number: len(step.items) for step in Guide.load(guide_file).steps}


def build_understander(knowledge: Any = None, taught: Sequence[tuple[str, str]] = (),
                       intents_file: Path = INTENTS_FILE, context_file: Path = CONTEXT_FILE,
                       topics: Sequence[Any] = ()) -> Understander:
    """A fresh Understander; ``knowledge`` defaults to the knowledge base of this checkout; ``topics``:
    the ones staff created (bot.understand.staff_topics), answered like the files' own."""
    if knowledge is None:
        knowledge = _default_knowledge()
    trained = _cached(knowledge, tuple(taught), intents_file, _mtime(intents_file), context_file, _mtime(context_file))
    return _with_topics(trained, knowledge, tuple(taught), tuple(topics)) if topics else trained


def _default_knowledge() -> Any:
    from bot.faq import KnowledgeBase
    from bot.faq.shared import knowledge_from

    return knowledge_from(KnowledgeBase.default_dir())


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


@lru_cache(maxsize=8)
def _cached(knowledge: Any, taught: tuple[tuple[str, str], ...], intents_file: Path, _a: int,
            context_file: Path, _b: int) -> Understander:
    """Training takes about a second: processes (and tests) that build many apps share one model."""
    return Understander(load_specs(intents_file), ContextWords.load(context_file), with_lessons(knowledge, taught),
                        taught, item_names=load_item_names(GUIDE_FILE), closing=closing_items(GUIDE_FILE),
                        statements=load_statements())


@lru_cache(maxsize=8)
def _with_topics(trained: Understander, knowledge: Any, taught: tuple[tuple[str, str], ...],
                 topics: tuple[Any, ...]) -> Understander:
    """The trained reader, answering from a knowledge base with the topics staff created as well.

    Why not retrain: a new topic changes what is searched, not which commands exist — rebuilding the
    knowledge base alone takes a fraction of a training run, so a saved answer is live sooner.
    """
    reader = copy.copy(trained)
    reader.knowledge = with_lessons(knowledge, taught, topics)
    return reader


def with_lessons(knowledge: Any, taught: Sequence[tuple[str, str]], topics: Sequence[Any] = ()) -> Any:
    """The knowledge base with what staff taught as extra phrasings of its topics (so similar wordings
    find the topic too, not only the exact message), and the topics staff created."""
    extra: dict[str, list[str]] = {}
    for text, label in taught:
        if label.startswith("topic:"):
            extra.setdefault(label[6:], []).append(text)
    if not (extra or topics) or not hasattr(knowledge, "with_phrasings"):
        return knowledge
    return knowledge.with_phrasings(extra, topics) if topics else knowledge.with_phrasings(extra)
