"""Example phrasings per intent: data/understanding/intents.yaml expanded, plus what staff taught."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.infra.resources import resource_dir
from bot.understand.lexicon import UnderstandingDataError
from bot.understand.reading import INTENTS

INTENTS_FILE = resource_dir("data/understanding") / "intents.yaml"
QUESTION = "question"
_NUMERALS = ["1", "2", "3", "4", "5", "6", "一", "二", "三", "四", "五", "六"]
_ITEM_LISTS = ["1 2 3", "1和3", "1-3", "1、2、4", "二和三", "2,3", "1到4", "3 4", "1 2", "2和5", "4-6", "一二三"]
_VARIANTS = 4  # surface forms per placeholder example


_ANSWER_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class IntentSpec:
    name: str  # an INTENTS name, "smalltalk:<kind>", or a command answered from data (``answer`` set)
    changes_state: bool
    examples: tuple[str, ...]
    answer: str | None = None  # template (templates/chat/<lang>/<answer>.j2) that answers it: no handler code

    @property
    def intent(self) -> str:
        return self.name.split(":", 1)[0]


def load_specs(path: Path = INTENTS_FILE) -> list[IntentSpec]:
    """Read and validate the intents file; a mistake names the file and the intent."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UnderstandingDataError(f"{path.name}: {exc}") from None
    specs = []
    for name, spec in (data.get("intents") or {}).items():
        base = str(name).split(":", 1)[0]
        if not isinstance(spec, dict) or not isinstance(spec.get("examples"), list) or not spec["examples"]:
            raise UnderstandingDataError(f"{path.name}: intent {name!r} needs a non-empty list of examples")
        answer = spec.get("answer")
        if answer is not None:
            # A command answered from data: a new name, a template, never a change of state.
            if base in INTENTS or not _ANSWER_NAME.match(str(name)) or not _ANSWER_NAME.match(str(answer)):
                raise UnderstandingDataError(f"{path.name}: {name!r}: a command answered from data needs a new "
                                             "lower_case name and `answer: <template name>`")
            if spec.get("changes_state"):
                raise UnderstandingDataError(f"{path.name}: {name!r}: a command answered from data changes nothing")
        elif base not in INTENTS:
            raise UnderstandingDataError(f"{path.name}: unknown intent {name!r} (known: {', '.join(INTENTS)}; "
                                         "or give it `answer: <template>`)")
        specs.append(IntentSpec(str(name), bool(spec.get("changes_state", False)),
                                tuple(str(e) for e in spec["examples"]), str(answer) if answer else None))
    return specs


def expand(example: str, rng: random.Random, step_names: list[str] | None = None) -> list[str]:
    """An example with placeholders becomes several concrete messages."""
    if "{" not in example:
        return [example]
    names = step_names or ["全网发布"]
    return [example.replace("{n}", rng.choice(_NUMERALS))
            .replace("{i}", rng.choice(_NUMERALS))
            .replace("{items}", rng.choice(_ITEM_LISTS))
            .replace("{name}", rng.choice(names))
            for _ in range(_VARIANTS)]


def training_pairs(specs: Iterable[IntentSpec], questions: Iterable[str] = (), taught: Iterable[tuple[str, str]] = (),
                   step_names: list[str] | None = None) -> list[tuple[str, str]]:
    """(text, label) pairs: the examples expanded, the knowledge base's question phrasings, taught ones."""
    rng = random.Random(20261201)  # fixed: the same data trains the same model in every process
    pairs = [(text, spec.name) for spec in specs for example in spec.examples
             for text in expand(example, rng, step_names)]
    pairs.extend((q, QUESTION) for q in questions)
    pairs.extend(taught)
    return pairs
