"""FAQ retrieval: exact error-code hits, then BM25 over words and pinyin, with a confidence.

The bot must either find the right topic or say honestly that it is not sure, so the score
is not the raw BM25 value but a confidence in [0, 1] built from how much of the question the
best topic explains (unknown words such as 表单/支付/备案 pull it down), how strong the match
is, and how clearly it beats the runner-up.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process

from bot.faq.codes import find_codes
from bot.faq.knowledge import Topic, load_topics
from bot.faq.lexicon import Lexicon
from bot.faq.tokenize import PINYIN_PREFIX, Analysis, Analyzer, Unit, split_pinyin

# How often each field's tokens are repeated in a topic's document (BM25 term frequency).
FIELD_WEIGHTS = {"title": 3, "keywords": 2, "phrasings": 1, "answer": 1, "title_en": 1, "answer_en": 1}
BM25_K1 = 1.2
BM25_B = 0.5
THRESHOLD = 0.5  # confidence below this -> topic=None
CODE_CONFIDENCE = 0.98
STEP_BONUS = 1.03  # the user's current step only breaks near-ties
ALT_MIN_RATIO = 0.3  # alternatives must score at least this share of the best
MAX_ALTERNATIVES = 3
FUZZY_MIN_LEN = 4
MAX_QUERY_CHARS = 600  # pasted logs: codes are searched in full, words only here
UNKNOWN_WORD = 0.8  # weight of an unknown word, as a share of the highest idf
UNKNOWN_CHAR = 0.3  # ... of an unknown single character


@dataclass
class SearchResult:
    """Outcome of one search; ``topic`` is None when not confident."""

    topic: Topic | None
    score: float
    confident: bool
    alternatives: list[Topic] = field(default_factory=list)
    best_guess: Topic | None = None
    error_code: str | None = None


@dataclass
class _Part:
    """One word of the question: how much it weighs and which index tokens would explain it."""

    weight: float
    evidence: set[str]


@dataclass
class _Query:
    terms: list[str]
    parts: list[_Part]


class KnowledgeBase:
    """Topics plus a search index; build with :meth:`load`, then call :meth:`search`."""

    def __init__(self, topics: dict[str, Topic], lexicon: Lexicon | None = None) -> None:
        self.topics: dict[str, Topic] = dict(topics)
        self.analyzer = Analyzer(lexicon or Lexicon())
        self._order = list(self.topics)
        self._code_map: dict[str, list[str]] = {}
        for topic in self.topics.values():
            for code in topic.expanded_codes():
                self._code_map.setdefault(code, []).append(topic.id)
        self._known_codes = frozenset(self._code_map)
        corpus = [self._document(t) for t in self.topics.values()]
        self._bm25 = BM25Okapi(corpus, k1=BM25_K1, b=BM25_B)
        self._doc_terms = [set(doc) for doc in corpus]
        self._vocab = frozenset().union(*self._doc_terms)
        self._latin_vocab = sorted(w for w in self._vocab if w.isascii() and w.isalpha() and len(w) >= 3)
        self._max_idf = max(self._bm25.idf.values())
        self._fuzzy_cache: dict[str, str | None] = {}

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(cls, directory: Path) -> KnowledgeBase:
        """Load topics and word lists from ``directory``; raises KnowledgeError."""
        directory = Path(directory)
        return cls(load_topics(directory), Lexicon.load(directory))

    @staticmethod
    def default_dir() -> Path:
        """``data/knowledge`` of this checkout, or ``$KNOWLEDGE_DIR`` when set."""
        env = os.environ.get("KNOWLEDGE_DIR")
        if env:
            return Path(env)
        return Path(__file__).resolve().parents[2] / "data" / "knowledge"

    def _document(self, topic: Topic) -> list[str]:
        fields = {
            "title": [topic.title_zh],
            "keywords": list(topic.keywords),
            "phrasings": list(topic.phrasings),
            "answer": [topic.answer_zh],
            "title_en": [topic.title_en],
            "answer_en": [topic.answer_en],
        }
        doc: list[str] = list(topic.expanded_codes())
        for name, texts in fields.items():
            for text in texts:
                doc.extend(self.analyzer.analyze(text, document=True).index_tokens() * FIELD_WEIGHTS[name])
        return doc

    # ----------------------------------------------------------------- search
    def search(self, text: str, step: int | None = None) -> SearchResult:
        """Best topic for ``text``; ``step`` (the user's current step) only breaks near-ties."""
        codes = find_codes(text, self._known_codes)
        query = self._query(self.analyzer.analyze(text[:MAX_QUERY_CHARS]))
        scores = self._bm25.get_scores(query.terms) if query.terms else [0.0] * len(self._order)
        ranked = self._rank(scores, step)
        if codes:
            return self._code_result(codes[0], ranked)
        if not ranked:
            return SearchResult(topic=None, score=0.0, confident=False)
        best, best_score = ranked[0]
        second = float(scores[ranked[1][0]]) if len(ranked) > 1 else 0.0
        conf = self._confidence(query, best, float(scores[best]), second)
        confident = conf >= THRESHOLD
        top = self.topics[self._order[best]]
        alts = [self.topics[self._order[i]] for i, s in ranked if s >= ALT_MIN_RATIO * best_score]
        alts = alts[1 : 1 + MAX_ALTERNATIVES] if confident else alts[:MAX_ALTERNATIVES]
        return SearchResult(
            topic=top if confident else None,
            score=round(conf, 4),
            confident=confident,
            alternatives=alts,
            best_guess=top,
        )

    def _rank(self, scores: Sequence[float], step: int | None) -> list[tuple[int, float]]:
        """Topics with a positive score, best first; the user's step multiplies by STEP_BONUS."""
        ranked = []
        for i, score in enumerate(scores):
            if score <= 0:
                continue
            if step is not None and self.topics[self._order[i]].step == step:
                score *= STEP_BONUS
            ranked.append((i, float(score)))
        ranked.sort(key=lambda item: (-item[1], item[0]))
        return ranked

    def _code_result(self, code: str, ranked: list[tuple[int, float]]) -> SearchResult:
        """A known error code wins outright; several topics sharing it are ordered by text match."""
        ids = self._code_map[code]
        position = {self._order[i]: n for n, (i, _) in enumerate(ranked)}
        ids = sorted(ids, key=lambda tid: position.get(tid, len(position) + self._order.index(tid)))
        top = self.topics[ids[0]]
        alts = [self.topics[tid] for tid in ids[1:]]
        floor = ALT_MIN_RATIO * ranked[0][1] if ranked else 0.0
        alts += [self.topics[self._order[i]] for i, s in ranked if self._order[i] not in ids and s >= floor]
        return SearchResult(
            topic=top,
            score=CODE_CONFIDENCE,
            confident=True,
            alternatives=alts[:MAX_ALTERNATIVES],
            best_guess=top,
            error_code=code,
        )

    # ----------------------------------------------------------------- query terms
    def _query(self, analysis: Analysis) -> _Query:
        """BM25 terms plus, per word, its weight and evidence (for the coverage part of confidence)."""
        vocab, idf = self._vocab, self._bm25.idf
        terms: list[str] = []
        parts: list[_Part] = []
        touching: dict[int, set[str]] = {}
        for token, left, right in analysis.bridges:
            if token in vocab:
                terms.append(token)
                touching.setdefault(left, set()).add(token)
                touching.setdefault(right, set()).add(token)
        latin_pending: list[int] = []
        for n, unit in enumerate(analysis.units):
            known = [t for t in unit.tokens if t in vocab]
            terms.extend(known)
            if unit.text in vocab:
                parts.append(_Part(idf[unit.text], set(known) | touching.get(n, set())))
            elif unit.kind == "cjk":
                parts.append(self._unknown_cjk(unit, known, touching.get(n, set())))
            elif unit.kind == "latin":
                latin_pending.append(n)
                continue
            else:
                match = self._fuzzy(unit.text)
                if match:
                    terms.append(match)
                    parts.append(_Part(idf[match], {match}))
                else:
                    parts.append(_Part(self._max_idf * UNKNOWN_WORD, set()))
        for run in _consecutive(latin_pending):
            self._latin_run(analysis, run, terms, parts)
        return _Query(terms=terms, parts=parts)

    def _unknown_cjk(self, unit: Unit, known: list[str], bridges: set[str]) -> _Part:
        """A Chinese word the index lacks: a homophone typo (秘钥, 白明单) if all of its pinyin
        is known, a stray character if single, else a sign of an off-topic question (表单, 备案)."""
        idf = self._bm25.idf
        if len(unit.text) == 1:
            return _Part(self._max_idf * UNKNOWN_CHAR, bridges)
        pinyin = [t for t in unit.tokens if t.startswith(PINYIN_PREFIX)]
        if pinyin and all(t in self._vocab for t in pinyin):
            return _Part(sum(idf[t] for t in pinyin) / len(pinyin), set(pinyin))
        return _Part(self._max_idf * UNKNOWN_WORD, set())

    def _latin_run(self, analysis: Analysis, run: list[int], terms: list[str], parts: list[_Part]) -> None:
        """Latin words the index lacks: typos (fuzzy) or pinyin typed without tones."""
        idf = self._bm25.idf
        syllables: list[tuple[str, int]] = []
        evidence: dict[int, set[str]] = {n: set() for n in run}
        for n in run:
            word = analysis.units[n].text
            pieces = split_pinyin(word)
            match = None if pieces else self._fuzzy(word)
            if match:
                terms.append(match)
                evidence[n].add(match)
            elif pieces:
                syllables.extend((p, n) for p in pieces)
        for (a, na), (b, nb) in pairwise(syllables):
            token = f"{PINYIN_PREFIX}{a}_{b}"
            if token in self._vocab:
                terms.append(token)
                evidence[na].add(token)
                evidence[nb].add(token)
        for n in run:
            found = evidence[n]
            if found:
                parts.append(_Part(sum(idf[t] for t in found) / len(found), found))
            else:
                word = analysis.units[n].text
                parts.append(_Part(self._max_idf * (UNKNOWN_WORD if len(word) > 2 else UNKNOWN_CHAR), set()))

    def _fuzzy(self, word: str) -> str | None:
        """Closest indexed latin word for a typo such as ``appsecert`` (cached)."""
        if len(word) < FUZZY_MIN_LEN or not word.isascii() or not word.isalpha():
            return None
        if word not in self._fuzzy_cache:
            cutoff = 85 if len(word) < 6 else 80
            hit = process.extractOne(word, self._latin_vocab, scorer=fuzz.ratio, score_cutoff=cutoff)
            self._fuzzy_cache[word] = hit[0] if hit else None
        return self._fuzzy_cache[word]

    # ----------------------------------------------------------------- confidence
    def _confidence(self, query: _Query, best: int, s1: float, s2: float) -> float:
        """Blend coverage of the question, match strength and margin over the runner-up."""
        total = sum(p.weight for p in query.parts)
        if total <= 0 or s1 <= 0:
            return 0.0
        doc = self._doc_terms[best]
        covered = sum(p.weight for p in query.parts if p.evidence & doc)
        coverage = covered / total
        strength = 1 - math.exp(-s1 / 8.0)
        margin = (s1 - s2) / s1
        return max(0.0, min(1.0, coverage**0.7 * (0.45 + 0.55 * strength) * (0.75 + 0.25 * margin)))


def _consecutive(indices: list[int]) -> list[list[int]]:
    """Group sorted indices into runs of consecutive numbers."""
    runs: list[list[int]] = []
    for n in indices:
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs
