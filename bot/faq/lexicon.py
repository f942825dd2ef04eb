"""Plain-text word lists that steer retrieval: domain dictionary, synonyms, stopwords.

They live next to the topics (``userdict.txt``, ``synonyms.txt``, ``stopwords.txt``) so support
staff can teach the bot a new colloquial term without touching code. All are optional.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from bot.faq.knowledge import KnowledgeError

USERDICT = "userdict.txt"
SYNONYMS = "synonyms.txt"
STOPWORDS = "stopwords.txt"


def normalize(text: str) -> str:
    """NFKC (full-width to half-width) and lowercase: the form every lookup uses."""
    return unicodedata.normalize("NFKC", text).lower()


@dataclass
class Lexicon:
    """Domain words for jieba, a variant->canonical map, phrase rewrites and stopwords."""

    words: list[tuple[str, int | None]] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)
    phrases: list[tuple[str, str]] = field(default_factory=list)
    stopwords: frozenset[str] = frozenset()

    @classmethod
    def load(cls, directory: Path) -> Lexicon:
        """Read the three files from ``directory``; missing files mean empty lists."""
        return cls(
            words=_read_userdict(directory / USERDICT),
            **_read_synonyms(directory / SYNONYMS),
            stopwords=_read_stopwords(directory / STOPWORDS),
        )

    def phrase_pattern(self) -> re.Pattern[str] | None:
        """One regex for all multi-word variants, longest first, on word boundaries."""
        if not self.phrases:
            return None
        alts = sorted((p for p, _ in self.phrases), key=len, reverse=True)
        body = "|".join(re.escape(p).replace(r"\ ", r"[\s_-]+") for p in alts)
        return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")


def _lines(path: Path) -> list[tuple[int, str]]:
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: cannot read file: {exc}") from None
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((number, line))
    return out


def _read_userdict(path: Path) -> list[tuple[str, int | None]]:
    words: list[tuple[str, int | None]] = []
    for number, line in _lines(path):
        parts = line.split()
        freq: int | None = None
        if len(parts) >= 2:
            if not parts[1].isdigit():
                raise KnowledgeError(f"{path.name}: line {number}: frequency must be a number")
            freq = int(parts[1])
        words.append((normalize(parts[0]), freq))
    return words


def _read_synonyms(path: Path) -> dict:
    synonyms: dict[str, str] = {}
    phrases: list[tuple[str, str]] = []
    for number, line in _lines(path):
        head, sep, tail = line.partition(":")
        if not sep:
            head, sep, tail = line.partition("：")
        canonical = normalize(head.strip())
        if not sep or not canonical:
            raise KnowledgeError(f"{path.name}: line {number}: expected 'canonical: variant, variant'")
        for variant in re.split(r"[,，、]", tail):
            variant = " ".join(normalize(variant).split())
            if not variant or variant == canonical:
                continue
            if " " in variant:
                phrases.append((variant, canonical))
            else:
                synonyms[variant] = canonical
    return {"synonyms": synonyms, "phrases": phrases}


def _read_stopwords(path: Path) -> frozenset[str]:
    return frozenset(normalize(w) for _, line in _lines(path) for w in line.split())
