"""Topics staff create from the operator view ("save as answer"): a user's question and a staff reply
become a knowledge topic every process answers from within seconds, without a restart.

Why beside the lessons (bot.understand.teaching): they share its version counter, so the process's
understanding (bot.understand.live_model) rebuilds its knowledge base with these topics when either
moves — the same few seconds (``TEACH_CHECK_SECONDS``) and the same background retraining. The
answer is what staff wrote, never generated; the question it came from is the topic's first
phrasing. A retired topic stays listed (and can come back) but is no longer answered. Each one can
be exported as a ``data/knowledge/*.yaml`` entry, to be made permanent in a normal review.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
import yaml

from bot.core.keys import TEACH_TOPICS, TEACH_VERSION
from bot.core.redact import redact_secrets
from bot.faq.knowledge import Topic
from bot.understand.lexicon import squash

MAX_TITLE = 80
MAX_ANSWER = 2000
MAX_PHRASING = 500
MAX_PHRASINGS = 50
ID_PREFIX = "staff_"
STAFF_SOURCE = "staff"  # Topic.file of a staff topic (no YAML file yet)


class StaffTopicError(ValueError):
    """A topic that cannot be saved: empty title or answer, a step outside 1-6, an unknown id."""


@dataclass
class StaffTopic:
    id: str
    title: str
    answer: str
    step: int | None
    phrasings: list[str] = field(default_factory=list)
    by: str = ""
    at: float = 0.0
    updated_at: float = 0.0
    retired: bool = False
    source: str = ""  # an https:// URL staff may add before the YAML export

    def as_topic(self) -> Topic:
        """The knowledge topic the bot answers with (the same text for both languages: what staff wrote)."""
        return Topic(id=self.id, step=self.step, title_zh=self.title, title_en=self.title, answer_zh=self.answer,
                     answer_en=self.answer, source=self.source or STAFF_SOURCE, phrasings=tuple(self.phrasings),
                     file=STAFF_SOURCE)

    def to_yaml(self) -> str:
        """One ``data/knowledge/stepN.yaml`` entry; ``source: TODO`` until staff give a URL (``check`` refuses
        it, so nobody commits it without one)."""
        entry: dict[str, Any] = {"id": self.id, "step": self.step, "title_zh": self.title, "title_en": self.title,
                                 "answer_zh": self.answer, "answer_en": self.answer,
                                 "source": self.source or "TODO", "error_codes": [], "keywords": [],
                                 "phrasings": list(self.phrasings)}
        return yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100)


def _clean(text: str, limit: int) -> str:
    cleaned, _ = redact_secrets((text or "").strip()[:limit])
    return cleaned.strip()


def _step(step: int | str | None) -> int | None:
    if step in (None, "", "none", 0, "0"):
        return None
    try:
        number = int(step)
    except (TypeError, ValueError):
        raise StaffTopicError(f"step must be 1-6 or none, got {step!r}") from None
    if not 1 <= number <= 6:
        raise StaffTopicError(f"step must be 1-6 or none, got {number}")
    return number


class StaffTopics:
    def __init__(self, client: redis.Redis, clock=time.time) -> None:
        self.client = client
        self.clock = clock

    def create(self, *, title: str, answer: str, step: int | str | None, question: str, by: str) -> StaffTopic:
        title, answer, question = _clean(title, MAX_TITLE), _clean(answer, MAX_ANSWER), _clean(question, MAX_PHRASING)
        if not title or not answer:
            raise StaffTopicError("a topic needs a title and an answer")
        now = self.clock()
        topic = StaffTopic(ID_PREFIX + secrets.token_hex(4), title, answer, _step(step),
                           [question] if squash(question) else [], by, now, now)
        self._write(topic)
        return topic

    def update(self, topic_id: str, *, title: str, answer: str, step: int | str | None, source: str = "",
               phrasings: list[str] | None = None) -> StaffTopic:
        topic = self.get(topic_id)
        title, answer, source = _clean(title, MAX_TITLE), _clean(answer, MAX_ANSWER), (source or "").strip()[:300]
        if not title or not answer:
            raise StaffTopicError("a topic needs a title and an answer")
        if source and not source.startswith("https://"):
            raise StaffTopicError("the source must be an https:// URL")
        topic.title, topic.answer, topic.step, topic.source = title, answer, _step(step), source
        if phrasings is not None:
            cleaned = [_clean(p, MAX_PHRASING) for p in phrasings]
            topic.phrasings = list(dict.fromkeys(p for p in cleaned if squash(p)))[:MAX_PHRASINGS]
        topic.updated_at = self.clock()
        self._write(topic)
        return topic

    def set_retired(self, topic_id: str, retired: bool) -> StaffTopic:
        topic = self.get(topic_id)
        topic.retired, topic.updated_at = retired, self.clock()
        self._write(topic)
        return topic

    def get(self, topic_id: str) -> StaffTopic:
        raw = self.client.hget(TEACH_TOPICS, topic_id) if topic_id.startswith(ID_PREFIX) else None
        topic = _parse(raw) if raw is not None else None
        if topic is None:
            raise StaffTopicError(f"no staff topic {topic_id!r}")
        return topic

    def all(self) -> list[StaffTopic]:
        """Every staff topic, newest first; an unreadable entry is skipped."""
        topics = [t for t in (_parse(raw) for raw in self.client.hvals(TEACH_TOPICS)) if t is not None]
        return sorted(topics, key=lambda t: t.at, reverse=True)

    def active(self) -> list[Topic]:
        """What the bot answers from: the topics not retired, oldest first (a stable order for caching)."""
        return [t.as_topic() for t in sorted(self.all(), key=lambda t: (t.at, t.id)) if not t.retired]

    def _write(self, topic: StaffTopic) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(TEACH_TOPICS, topic.id, json.dumps(asdict(topic), ensure_ascii=False))
        pipe.incr(TEACH_VERSION)  # every process rebuilds its knowledge within TEACH_CHECK_SECONDS
        pipe.execute()


def _parse(raw: Any) -> StaffTopic | None:
    try:
        data = json.loads(raw)
        topic = StaffTopic(**data)
    except (TypeError, ValueError):
        return None
    if not isinstance(topic.id, str) or not isinstance(topic.title, str) or not isinstance(topic.answer, str):
        return None
    return topic
