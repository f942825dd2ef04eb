"""What staff teach from the operator view: a message read as an intent, or as a knowledge topic.

Kept in Redis (one hash and a version counter), so every web process, the worker and the CLIs see
the same lessons; each process retrains when the version moves (bot.understand.live_model).
"""

from __future__ import annotations

import json
import time

import redis

from bot.core.keys import TEACH_EXAMPLES, TEACH_VERSION
from bot.core.redact import redact_secrets
from bot.understand.lexicon import squash
from bot.understand.reading import INTENTS

SMALLTALK_KINDS = ("greeting", "thanks", "ack")
MAX_TEXT = 500


class TeachingError(ValueError):
    """A lesson that cannot be learned (unknown intent or topic, empty text)."""


def label_for(intent: str | None = None, topic: str | None = None) -> str:
    """The stored label: an intent name ("smalltalk:thanks" allowed) or "topic:<id>"."""
    if topic:
        return f"topic:{topic}"
    if intent and (intent in INTENTS or intent in {f"smalltalk:{k}" for k in SMALLTALK_KINDS}):
        if intent in ("clarify", "question"):
            raise TeachingError(f"{intent!r} is not something to teach; assign a topic instead")
        return intent
    raise TeachingError(f"unknown intent {intent!r}")


class Teaching:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def teach(self, text: str, label: str, by: str = "", known_topics: frozenset[str] | None = None) -> None:
        text, _ = redact_secrets(text.strip()[:MAX_TEXT])
        if not squash(text):
            raise TeachingError("empty text")
        if label.startswith("topic:") and known_topics is not None and label[6:] not in known_topics:
            raise TeachingError(f"unknown topic {label[6:]!r}")
        entry = json.dumps({"text": text, "label": label, "by": by, "at": time.time()}, ensure_ascii=False)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(TEACH_EXAMPLES, squash(text), entry)
        pipe.incr(TEACH_VERSION)
        pipe.execute()

    def forget(self, text: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(TEACH_EXAMPLES, squash(text))
        pipe.incr(TEACH_VERSION)
        pipe.execute()

    def version(self) -> int:
        return int(self.client.get(TEACH_VERSION) or 0)

    def entries(self) -> list[dict]:
        out = []
        for raw in self.client.hvals(TEACH_EXAMPLES):
            try:
                entry = json.loads(raw)
            except (TypeError, ValueError):
                continue
            if isinstance(entry, dict) and isinstance(entry.get("text"), str) and isinstance(entry.get("label"), str):
                out.append(entry)
        return sorted(out, key=lambda e: e.get("at") or 0)

    def examples(self) -> list[tuple[str, str]]:
        return [(e["text"], e["label"]) for e in self.entries()]
