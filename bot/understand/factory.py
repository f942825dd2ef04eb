"""Build an Understander from the data files (and, where given, what staff taught)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.resources import resource_dir
from bot.understand.examples import INTENTS_FILE, load_specs
from bot.understand.items import closing_items, load_item_names
from bot.understand.lexicon import CONTEXT_FILE, ContextWords
from bot.understand.understander import Understander

GUIDE_FILE = resource_dir("data/guide") / "steps.yaml"


def item_counts(guide_file: Path = GUIDE_FILE) -> dict[int, int]:
    from bot.guide import Guide

    return {step.number: len(step.items) for step in Guide.load(guide_file).steps}


def build_understander(knowledge: Any = None, taught: Sequence[tuple[str, str]] = (),
                       intents_file: Path = INTENTS_FILE, context_file: Path = CONTEXT_FILE) -> Understander:
    """A fresh Understander; ``knowledge`` defaults to the knowledge base of this checkout."""
    if knowledge is None:
        knowledge = _default_knowledge()
    return _cached(knowledge, tuple(taught), intents_file, _mtime(intents_file), context_file, _mtime(context_file))


def _default_knowledge() -> Any:
    from bot.faq import KnowledgeBase
    from bot.faq.cache import knowledge_from

    return knowledge_from(KnowledgeBase.default_dir())


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


@lru_cache(maxsize=8)
def _cached(knowledge: Any, taught: tuple[tuple[str, str], ...], intents_file: Path, _a: int,
            context_file: Path, _b: int) -> Understander:
    """Training takes about a second: processes (and tests) that build many apps share one model."""
    return Understander(load_specs(intents_file), ContextWords.load(context_file), with_lessons(knowledge, taught),
                        taught, item_names=load_item_names(GUIDE_FILE), closing=closing_items(GUIDE_FILE))


def with_lessons(knowledge: Any, taught: Sequence[tuple[str, str]]) -> Any:
    """The knowledge base with what staff taught as extra phrasings of its topics (so similar wordings
    find the topic too, not only the exact message)."""
    extra: dict[str, list[str]] = {}
    for text, label in taught:
        if label.startswith("topic:"):
            extra.setdefault(label[6:], []).append(text)
    return knowledge.with_phrasings(extra) if extra and hasattr(knowledge, "with_phrasings") else knowledge
