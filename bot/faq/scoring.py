"""From an analysed question to BM25 query terms and a calibrated confidence.

Ranking alone cannot say "I don't know": BM25 always has a best topic. So every word of the
question also gets a weight (its idf, or a high weight when the index has never seen it) and
the evidence that would explain it; the share of weight the best topic explains is the core
of the confidence. Unknown words such as 表单, 支付, 备案 are what make an off-topic question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from rapidfuzz import fuzz, process

from bot.faq.tokenize import PINYIN_PREFIX, Analysis, Unit, split_pinyin

UNKNOWN_WORD = 0.8  # weight of a word the index lacks, as a share of the highest idf
UNKNOWN_CHAR = 0.3  # ... of a lone character or a short latin word
UNKNOWN_SPAN_MAX = 1.5  # a long unknown compound (微信支付) counts as up to this many words
SINGLE_CHAR = 0.4  # cap on a known lone character (说, 进, 加): its idf overstates what it says
FUZZY_MIN_LEN = 4
FUZZY_CACHE_SIZE = 20_000
STRENGTH_SCALE = 8.0  # BM25 score at which match strength reaches 1 - 1/e


@dataclass
class Part:
    """One word of the question: its weight and the index tokens that would explain it."""

    weight: float
    evidence: set[str]


@dataclass
class Query:
    """BM25 terms (repeats allowed) and the question's words for coverage."""

    terms: list[str]
    parts: list[Part]


class QueryBuilder:
    """Knows the index vocabulary and idf; turns an Analysis into a Query."""

    def __init__(self, vocab: frozenset[str], idf: dict[str, float]) -> None:
        self.vocab = vocab
        self.idf = idf
        self.max_idf = max(idf.values()) if idf else 1.0
        self._latin_vocab = sorted(w for w in vocab if w.isascii() and w.isalpha() and len(w) >= 3)
        self._fuzzy_cache: dict[str, str | None] = {}

    def build(self, analysis: Analysis) -> Query:
        """Terms for BM25 plus one Part per word of the question."""
        vocab, idf = self.vocab, self.idf
        terms: list[str] = []
        parts: list[Part] = []
        touching: dict[int, set[str]] = {}
        for token, left, right in analysis.bridges:
            if token in vocab:
                terms.append(token)
                touching.setdefault(left, set()).add(token)
                touching.setdefault(right, set()).add(token)
        latin: list[int] = []
        stray = self._stray_runs(analysis)
        for n, unit in enumerate(analysis.units):
            known = [t for t in unit.tokens if t in vocab]
            terms.extend(known)
            if unit.text in vocab:
                weight = idf[unit.text]
                if unit.kind == "cjk" and len(unit.text) == 1:
                    weight = min(weight, self.max_idf * SINGLE_CHAR)
                parts.append(Part(weight, set(known) | touching.get(n, set())))
            elif n in stray:
                merged = stray[n]
                if merged is not None:
                    parts.append(self._unknown_cjk(merged, set()))
            elif unit.kind == "cjk":
                parts.append(self._unknown_cjk(unit, touching.get(n, set())))
            elif unit.kind == "latin":
                latin.append(n)
            elif not _is_identifier(unit.text):
                parts.append(self._fuzzy_part(unit.text, terms))
        for run in _consecutive(latin):
            self._latin_run(analysis, run, terms, parts)
        return Query(terms=terms, parts=parts)

    def coverage(self, query: Query, doc_terms: set[str]) -> float:
        """Share of the question's weight that a topic's tokens explain."""
        total = sum(p.weight for p in query.parts)
        if total <= 0:
            return 0.0
        return sum(p.weight for p in query.parts if p.evidence & doc_terms) / total

    def confidence(self, query: Query, doc_terms: set[str], best: float, second: float) -> float:
        """Coverage, damped when the match is weak or barely beats the runner-up; in [0, 1]."""
        if best <= 0:
            return 0.0
        coverage = self.coverage(query, doc_terms)
        strength = 1 - math.exp(-best / STRENGTH_SCALE)
        margin = max(0.0, best - second) / best
        return max(0.0, min(1.0, coverage**0.7 * (0.45 + 0.55 * strength) * (0.75 + 0.25 * margin)))

    # ------------------------------------------------------------- unknown words
    def _stray_runs(self, analysis: Analysis) -> dict[int, Unit | None]:
        """Consecutive unknown single characters are one word jieba did not know (抖音, or the
        typo 法布): the run's first index maps to the merged word, the others to None."""
        units = analysis.units
        out: dict[int, Unit | None] = {}
        n = 0
        while n < len(units):
            end = n
            while end < len(units) and self._is_stray(units[end]):
                end += 1
            if end - n >= 2:
                pinyin = [tok for tok, left, _ in analysis.bridges if n <= left < end - 1]
                out[n] = Unit("".join(u.text for u in units[n:end]), "cjk", pinyin)
                out.update(dict.fromkeys(range(n + 1, end)))
            n = max(end, n + 1)
        return out

    def _is_stray(self, unit: Unit) -> bool:
        return unit.kind == "cjk" and len(unit.text) == 1 and unit.text not in self.vocab

    def _unknown_cjk(self, unit: Unit, bridges: set[str]) -> Part:
        """A Chinese word the index lacks: a homophone typo (秘钥, 白明单) when all of its pinyin
        is known, a stray character when single, else a sign of an off-topic question."""
        if len(unit.text) == 1:
            return Part(self.max_idf * UNKNOWN_CHAR, bridges)
        pinyin = [t for t in unit.tokens if t.startswith(PINYIN_PREFIX)]
        if pinyin and all(t in self.vocab for t in pinyin):
            return Part(sum(self.idf[t] for t in pinyin) / len(pinyin), set(pinyin))
        # A long unknown compound (微信支付, 自定义菜单) stands for two words, not one.
        span = min(UNKNOWN_SPAN_MAX, max(1.0, len(unit.text) / 2)) if len(unit.text) > 3 else 1.0
        return Part(self.max_idf * UNKNOWN_WORD * span, set())

    def _latin_run(self, analysis: Analysis, run: list[int], terms: list[str], parts: list[Part]) -> None:
        """Latin words the index lacks: pinyin typed without tones ("yuanshi id"), else typos."""
        syllables: list[tuple[str, int]] = []
        evidence: dict[int, set[str]] = {n: set() for n in run}
        for n in run:
            syllables.extend((piece, n) for piece in split_pinyin(analysis.units[n].text) or ())
        for (a, na), (b, nb) in pairwise(syllables):
            token = f"{PINYIN_PREFIX}{a}_{b}"
            if token in self.vocab:
                terms.append(token)
                evidence[na].add(token)
                evidence[nb].add(token)
        for n in run:
            found = evidence[n]
            word = analysis.units[n].text
            if found:
                parts.append(Part(sum(self.idf[t] for t in found) / len(found), found))
            elif len(split_pinyin(word) or ()) == 1 and not self.fuzzy(word):
                parts.append(Part(self.max_idf * UNKNOWN_CHAR, set()))  # one syllable = one character
            else:
                parts.append(self._fuzzy_part(word, terms))

    def _fuzzy_part(self, word: str, terms: list[str]) -> Part:
        match = self.fuzzy(word)
        if match:
            terms.append(match)
            return Part(self.idf[match], {match})
        share = UNKNOWN_WORD if len(word) > 2 else UNKNOWN_CHAR
        return Part(self.max_idf * share, set())

    def fuzzy(self, word: str) -> str | None:
        """Closest indexed latin word for a typo such as ``appsecert`` (cached, bounded)."""
        if len(word) < FUZZY_MIN_LEN or not word.isascii() or not word.isalpha():
            return None
        if word not in self._fuzzy_cache:
            if len(self._fuzzy_cache) >= FUZZY_CACHE_SIZE:
                self._fuzzy_cache.clear()
            cutoff = 85 if len(word) < 6 else 80
            hit = process.extractOne(word, self._latin_vocab, scorer=fuzz.ratio, score_cutoff=cutoff)
            self._fuzzy_cache[word] = hit[0] if hit else None
        return self._fuzzy_cache[word]


def _is_identifier(word: str) -> bool:
    """Request ids, AppIDs and hashes pasted with errors (64f0a1b2, wx...): noise, not words."""
    return len(word) >= 6 and any(c.isdigit() for c in word) and any(c.isalpha() for c in word)


def _consecutive(indices: list[int]) -> list[list[int]]:
    """Group ascending indices into runs of consecutive numbers."""
    runs: list[list[int]] = []
    for n in indices:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs
