"""Understand commands and common phrases, forgivingly, from data/intents.yaml."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.resources import resource_dir

INTENTS_FILE = resource_dir("data") / "intents.yaml"
_CHINESE_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}
# Spaces, punctuation and chat filler are dropped before matching: "完成了！" == "完成了", "step 3" == "step3".
_NOISE = re.compile(r"[\s\W_]+|[啊呀呢吧啦哈嘛哦喔噢~]+$", re.UNICODE)
_MAX_COMMAND_CHARS = 40  # longer messages are questions, not commands
# A question ("认证完成要多久？") is for the FAQ even when it contains a command phrase.
_QUESTION = re.compile(
    r"吗|么|多久|多长|怎么|如何|为什么|为啥|啥|什么|哪|几|？|\?|\b(?:how|what|why|when|where|which)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Intent:
    name: str
    number: int | None = None


@dataclass(frozen=True)
class _Rule:
    name: str
    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]


def normalise(text: str) -> str:
    """Lower-case, half-width, without spaces, punctuation or trailing particles."""
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "")
    text = re.sub(r"^@\S+\s*", "", text)  # a leading @mention
    return _NOISE.sub("", text)


@lru_cache(maxsize=4)
def _rules(path: Path = INTENTS_FILE) -> tuple[_Rule, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))["intents"]
    rules = []
    for name, spec in data.items():
        exact = frozenset(normalise(str(word)) for word in spec.get("exact", []))
        patterns = tuple(re.compile(p) for p in spec.get("regex", []))
        rules.append(_Rule(name, exact, patterns))
    return tuple(rules)


def parse(text: str) -> Intent | None:
    """The intent of a short message, or None (then it is a question for the FAQ)."""
    if not text or len(text) > _MAX_COMMAND_CHARS:
        return None
    norm = normalise(text)
    if not norm:
        return None
    question = bool(_QUESTION.search(text))
    for rule in _rules():
        if norm in rule.exact:
            return Intent(rule.name)
        if question:
            continue
        for pattern in rule.patterns:
            match = pattern.search(norm)
            if match:
                return Intent(rule.name, _number(match))
    return None


def _number(match: re.Match[str]) -> int | None:
    raw = match.groupdict().get("n")
    if raw is None:
        return None
    return _CHINESE_DIGITS.get(raw) or int(raw)
