"""FAQ retrieval: exact error-code and error-message hits first, then BM25 over words and pinyin
fused with sentence embeddings, and a calibrated answer / "did you mean" / decline decision.

The bot must either find the right topic or say honestly that it is not sure, so the score it
reports is not a raw retrieval value but a confidence in [0, 1] (bot.faq.scoring for the lexical
part, bot.faq.fusion for the fusion and the decision).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from bot.config import env_value
from bot.faq import fusion
from bot.faq.codes import (
    find_codes,
    find_message,
    find_step,
    message_pattern,
    normalize_message,
    unknown_codes,
    unknown_named_codes,
)
from bot.faq.knowledge import Topic, load_topics
from bot.faq.lexicon import Lexicon, normalize
from bot.faq.official import OfficialCode, OfficialCodes
from bot.faq.scoring import Query, QueryBuilder
from bot.faq.semantic import Embedder, TopicVectors, shared_embedder
from bot.faq.tokenize import Analyzer, is_cjk, split_pinyin

log = logging.getLogger(__name__)

# How often each field's tokens are repeated in a topic's document (BM25 term frequency).
FIELD_WEIGHTS = {"title": 3, "keywords": 2, "phrasings": 1, "answer": 1, "title_en": 1, "answer_en": 1}
BM25_K1 = 1.2
BM25_B = 0.5
THRESHOLD = fusion.ANSWER_THRESHOLD  # confidence below this -> topic=None
CODE_CONFIDENCE = 0.98
SHARED_CODE_MARGIN = 1.2  # another topic sharing a code must out-score the code's own topic by this
STEP_BONUS = 1.03  # the user's current step only breaks near-ties (BM25 of an exact code's rivals)
STEP_BOOST = 0.08  # ... and in the fused score ([0, 1]): more than AMBIGUITY_MARGIN, less than a clear lead
ALT_MIN_RATIO = 0.3  # alternatives must score at least this share of the best
MAX_ALTERNATIVES = 3
MAX_CANDIDATES = 5
MAX_QUERY_CHARS = 600  # pasted logs: codes are searched in full, words only here
SYNC_PASSAGES = 50  # with background=True, more uncached passages than this are embedded in a thread
CODES_DIR = "codes"  # the official error-code table, below the knowledge directory
LEXICAL_SURE = 0.85  # lexical confidence at which the embedding cannot change the answer: skip it
# "1. ", "2、" at the start of an answer line: list numbering, not a number the user would type.
_LIST_NUMBER_RE = re.compile(r"^\s*\d{1,2}[.、)）]\s*|(?<![\w.])\d{1,2}[)）]\s", re.MULTILINE)


@dataclass
class SearchResult:
    """Outcome of one search; ``topic`` is None when not confident.

    ``decision`` is "answer" (topic set), "suggest" (best_guess and alternatives are the "did you
    mean" list) or "decline" (nothing worth offering: best_guess None, no alternatives).
    ``candidates`` is the ranking whatever the decision, for evaluation and staff tools.
    """

    topic: Topic | None
    score: float
    confident: bool
    alternatives: list[Topic] = field(default_factory=list)
    best_guess: Topic | None = None
    error_code: str | None = None
    decision: str = fusion.DECLINE
    candidates: list[Topic] = field(default_factory=list)
    # A documented WeChat code no topic covers (bot.faq.official): the handler answers from it.
    official: OfficialCode | None = None


@dataclass
class Evidence:
    """The features of the calibrated decision for one question (see bot.faq.fusion)."""

    topic: str  # the best-ranked topic id
    lexical: float  # its lexical confidence
    cosine: float | None  # its cosine (None: no embedding was needed or possible)
    lead: float  # its fused lead over the runner-up
    foreign: bool  # the question quotes an error code no topic knows
    fused: np.ndarray
    order: list[int]


def semantic_enabled() -> bool:
    """``FAQ_SEMANTIC=off`` runs lexical retrieval only (a process that cannot spare the RAM)."""
    return bool(env_value("faq_semantic"))


class KnowledgeBase:
    """Topics plus a search index; build with :meth:`load`, then call :meth:`search`."""

    def __init__(
        self,
        topics: dict[str, Topic],
        lexicon: Lexicon | None = None,
        *,
        embedder: Embedder | bool | None = True,
        analyzer: Analyzer | None = None,
        background: bool | None = None,
        official: OfficialCodes | None = None,
    ) -> None:
        """``embedder=True`` uses the process's shared model (unless FAQ_SEMANTIC=off), ``None`` or
        ``False`` builds a lexical-only base; ``analyzer`` lets a rebuild reuse the word lists.
        ``background`` (default on; ``FAQ_EMBED_IN_BACKGROUND=0`` turns it off) embeds uncached topic
        passages in a thread when there are many (a fresh machine), so a web process starts in seconds
        and answers from the words until the vectors are ready."""
        if background is None:
            background = bool(env_value("faq_embed_in_background"))
        self.topics: dict[str, Topic] = dict(topics)
        self.official = official if official is not None else OfficialCodes({})
        self.lexicon = lexicon or Lexicon()
        self.analyzer = analyzer or Analyzer(self.lexicon)
        self._order = list(self.topics)
        self._code_map: dict[str, list[str]] = {}
        for topic in self.topics.values():
            for code in topic.expanded_codes():
                self._code_map.setdefault(code, []).append(topic.id)
        self._known_codes = frozenset(self._code_map)
        self._message_map: dict[str, list[str]] = {}
        for topic in self.topics.values():
            for message in topic.error_messages:
                ids = self._message_map.setdefault(normalize_message(message), [])
                if topic.id not in ids:
                    ids.append(topic.id)
        self._message_re = message_pattern(self._message_map)
        corpus = [self._document(t) for t in self.topics.values()]
        self._bm25 = BM25Okapi(corpus, k1=BM25_K1, b=BM25_B)
        self._doc_terms = [set(doc) for doc in corpus]
        self._queries = QueryBuilder(frozenset().union(*self._doc_terms), self._bm25.idf)
        self._term_scores: dict[str, np.ndarray] = {}
        if embedder is True:
            embedder = shared_embedder() if semantic_enabled() else None
        self.embedder: Embedder | None = embedder or None
        self._vectors = TopicVectors(self.topics.values(), self.embedder) if self.embedder else None
        if self._vectors is not None:
            if background and self._vectors.missing() > SYNC_PASSAGES:
                # A fresh machine (no disk cache) would take 10-40 s: answer from words until then.
                threading.Thread(target=self._vectors.compute, name="faq-embed", daemon=True).start()
            else:
                self._vectors.compute()

    def with_phrasings(self, extra: dict[str, list[str]], new_topics: Sequence[Topic] = ()) -> KnowledgeBase:
        """A new base whose topics also have ``extra`` phrasings (taught by staff at run time), plus the
        ``new_topics`` staff created (an id the files already use is left to the files).

        Cheap enough for a rebuild a few times a minute: the word lists, jieba and the model are
        reused and only passages never seen before are embedded. Unknown topic ids are skipped
        (a topic may have been removed from the files after staff taught it).
        """
        topics = dict(self.topics)
        for new in new_topics:
            topics.setdefault(new.id, new)
        for topic_id, phrasings in extra.items():
            topic = topics.get(topic_id)
            if topic is None:
                log.warning("with_phrasings: no topic %r, skipped", topic_id)
                continue
            added = [p.strip() for p in phrasings if isinstance(p, str) and p.strip()]
            added = [p for p in dict.fromkeys(added) if p not in topic.phrasings]
            if added:
                topics[topic_id] = dataclasses.replace(topic, phrasings=(*topic.phrasings, *added))
        return KnowledgeBase(topics, self.lexicon, embedder=self.embedder or False, analyzer=self.analyzer,
                             official=self.official)

    def semantic_scores(self, text: str) -> np.ndarray:
        """Cosine evidence for every topic, in ``topics`` order (evaluation and staff tools)."""
        if self._vectors is None or self.embedder is None or not self._vectors.ready:
            raise RuntimeError("no topic vectors (lexical-only base, or still embedding in the background)")
        return self._vectors.scores(self.embedder.query(text))

    @property
    def semantic_ready(self) -> bool:
        """True once topic vectors exist (always, unless built in the background or lexical-only)."""
        return self._vectors is not None and self._vectors.ready

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(cls, directory: Path, *, background: bool | None = None) -> KnowledgeBase:
        """Load topics and word lists from ``directory``; raises KnowledgeError. Tools that must
        answer with the full model from the first question pass ``background=False``."""
        directory = Path(directory)
        return cls(load_topics(directory), Lexicon.load(directory), background=background,
                   official=OfficialCodes.load(directory / CODES_DIR))

    @staticmethod
    def default_dir() -> Path:
        """``data/knowledge`` of this checkout, or ``$KNOWLEDGE_DIR`` when set."""
        return Path(env_value("knowledge_dir"))

    def _document(self, topic: Topic) -> list[str]:
        fields = {
            "title": [topic.title_zh],
            "keywords": list(topic.keywords),
            "phrasings": list(topic.phrasings),
            "answer": [_LIST_NUMBER_RE.sub("", topic.answer_zh)],
            "title_en": [topic.title_en],
            "answer_en": [_LIST_NUMBER_RE.sub("", topic.answer_en)],
        }
        doc: list[str] = list(topic.expanded_codes())
        for name, texts in fields.items():
            for text in texts:
                doc.extend(self.analyzer.analyze(text, document=True).index_tokens() * FIELD_WEIGHTS[name])
        return doc

    # ----------------------------------------------------------------- search
    def search(self, text: str, step: int | None = None) -> SearchResult:
        """Best topic for ``text``; ``step`` (the user's current step, else one the text names such
        as 步骤3) only breaks near-ties."""
        codes = find_codes(text, self._known_codes)
        words = normalize(text[:MAX_QUERY_CHARS])
        mentioned, rest = find_step(words)
        if step is None:
            step = mentioned
        # "步骤3 提交哪个appid": the step is a hint, not words to match; "第一步干什么" is all step.
        analysis = self.analyzer.analyze(rest) if mentioned else None
        if analysis is None or not analysis.units:
            analysis = self.analyzer.analyze(words)
        query = self._queries.build(analysis)
        scores = self._scores(query.terms)
        # An exact error code or errmsg is the strongest evidence there is: no embedding needed.
        if codes:
            return self._exact_result(self._code_map[codes[0]], self._rank(scores, step), codes[0])
        message = find_message(normalize(text), self._message_re)
        if message and not unknown_named_codes(text, self._known_codes):
            return self._exact_result(self._message_map[message], self._rank(scores, step), None)
        official = self.official.find(text)  # no topic knows the code: WeChat's own meaning answers it
        if official is not None and official.code in self._known_codes:
            official = None  # a topic's code (its errmsg worded differently): the topics decide
        evidence = self._fused_evidence(text, step, query, scores)
        if evidence is None:
            return SearchResult(topic=None, score=0.0, confident=False, official=official)
        confidence = fusion.calibrate(evidence.lexical, evidence.cosine, evidence.lead)
        decision = fusion.decide(confidence, evidence.fused, evidence.order[0], answerable=not evidence.foreign)
        return dataclasses.replace(self._decided(decision, evidence.fused, evidence.order), official=official)

    def evidence(self, text: str, step: int | None = None) -> Evidence | None:
        """What the calibrated decision sees for ``text`` (None: an exact code/errmsg hit or no match).

        For staff ("why did it answer that?") and for refitting the calibration (scripts/faq_calibrate.py).
        """
        if find_codes(text, self._known_codes):
            return None
        words = normalize(text[:MAX_QUERY_CHARS])
        mentioned, rest = find_step(words)
        analysis = self.analyzer.analyze(rest) if mentioned else None
        if analysis is None or not analysis.units:
            analysis = self.analyzer.analyze(words)
        query = self._queries.build(analysis)
        if find_message(normalize(text), self._message_re) and not unknown_named_codes(text, self._known_codes):
            return None
        return self._fused_evidence(text, step if step is not None else mentioned, query, self._scores(query.terms))

    def _fused_evidence(self, text: str, step: int | None, query: Query, scores: np.ndarray) -> Evidence | None:
        cosines = self._cosines(text, query, scores)
        fused = fusion.fuse(scores, cosines)
        if step is not None:
            fused = fused + np.array([STEP_BOOST if self.topics[t].step == step else 0.0 for t in self._order])
        if not fused.size or fused.max() <= 0:
            return None
        order = [int(i) for i in np.argsort(-fused, kind="stable") if fused[i] > 0]
        best = order[0]
        return Evidence(
            topic=self._order[best],
            lexical=self._lexical_confidence(query, scores, best),
            cosine=float(cosines[best]) if cosines is not None else None,
            lead=fusion.lead(fused, best),
            foreign=bool(unknown_codes(text, self._known_codes)),
            fused=fused,
            order=order,
        )

    def _cosines(self, text: str, query: Query, scores: np.ndarray) -> np.ndarray | None:
        """Embedding evidence, unless the words alone already settle the answer (saves ~15 ms)."""
        vectors = self._vectors
        if vectors is None or not vectors.ready or self.embedder is None or _typed_in_pinyin(query_words(text)):
            return None
        if scores.size and scores.max() > 0:
            best = int(np.argmax(scores))
            if self._lexical_confidence(query, scores, best) >= LEXICAL_SURE:
                return None
        return vectors.scores(self.embedder.query(text))

    def _lexical_confidence(self, query: Query, scores: np.ndarray, topic: int) -> float:
        """Coverage-based confidence of one topic, against the best lexical rival."""
        rivals = np.delete(scores, topic)
        second = float(rivals.max()) if rivals.size else 0.0
        return self._queries.confidence(query, self._doc_terms[topic], float(scores[topic]), second)

    def _decided(self, decision: fusion.Decision, fused: np.ndarray, order: list[int]) -> SearchResult:
        """Turn the decision into the result the handlers read."""
        ranked = [self.topics[self._order[i]] for i in order]
        top = ranked[0]
        floor = ALT_MIN_RATIO * float(fused[order[0]])
        close = [self.topics[self._order[i]] for i in order if fused[i] >= floor]
        score = round(decision.confidence, 4)
        candidates = ranked[:MAX_CANDIDATES]
        if decision.action == fusion.DECLINE:
            return SearchResult(None, score, False, decision=decision.action, candidates=candidates)
        answer = decision.action == fusion.ANSWER
        return SearchResult(
            topic=top if answer else None,
            score=score,
            confident=answer,
            alternatives=close[1 : 1 + MAX_ALTERNATIVES] if answer else close[:MAX_ALTERNATIVES],
            best_guess=top,
            decision=decision.action,
            candidates=candidates,
        )

    def _scores(self, terms: list[str]) -> np.ndarray:
        """BM25 scores of all topics; equals ``get_scores(terms)`` but reuses per-term vectors."""
        total = np.zeros(len(self._order))
        for term in terms:
            vector = self._term_scores.get(term)
            if vector is None:
                vector = self._term_scores[term] = self._bm25.get_scores([term])
            total += vector
        return total

    def _rank(self, scores: np.ndarray, step: int | None) -> list[tuple[int, float]]:
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

    def _exact_result(self, ids: list[str], ranked: list[tuple[int, float]], code: str | None) -> SearchResult:
        """A known error code or message wins outright; topics sharing it are ordered by text match,
        the topic named after the code first unless another one matches the text clearly better."""
        position = {self._order[i]: n for n, (i, _) in enumerate(ranked)}
        ids = sorted(ids, key=lambda tid: position.get(tid, len(position) + self._order.index(tid)))
        named = re.compile(rf"(?<![\d-]){re.escape(code)}(?!\d)") if code else None
        owners = [tid for tid in ids if named and named.search(self.topics[tid].title_zh)]
        if owners and owners[0] != ids[0]:
            # "报61007 怎么办": the topic named after the code, unless the text clearly points to
            # another topic that mentions it (新增权限集后报 61007).
            score = dict(ranked)
            lead = score.get(self._order.index(ids[0]), 0.0)
            if lead < SHARED_CODE_MARGIN * score.get(self._order.index(owners[0]), 0.0):
                ids = [owners[0], *(tid for tid in ids if tid != owners[0])]
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
            decision=fusion.ANSWER,
            candidates=[top, *alts][:MAX_CANDIDATES],
        )


_LATIN_WORD_RE = re.compile(r"[a-z]+")


def query_words(text: str) -> list[str] | None:
    """The latin words of a question without Chinese characters (None when it has some)."""
    text = normalize(text[:MAX_QUERY_CHARS])
    return None if is_cjk(text) else _LATIN_WORD_RE.findall(text)


def _typed_in_pinyin(words: list[str] | None) -> bool:
    """"quanxianji xuan naxie": the model reads pinyin as noise, so only the words count."""
    if not words:
        return False
    pinyin = [w for w in words if len(w) >= 3 and split_pinyin(w)]
    return len(pinyin) >= 0.6 * len(words)
