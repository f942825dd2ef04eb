"""The text the OCR process read, handed to a process that answers it (``{wb}:ocr:text``).

Why a hand-off: answering needs the understanding model and the knowledge base with its embedding model
(~250-330 MB); the OCR model needs ~300-500 MB more. The ``ocr`` process holds only the model and writes
what it read here; the web processes, which hold the answering services anyway, answer it
(bot.ocr.answers). Nothing is lost or done twice:

- the reader adds the entry and acknowledges the ``image_received`` event in one MULTI (both keys share
  the ``{wb}`` slot): an image is handed off once, or stays pending and is read again by the next reader;
- the entry names the image's message id: its answer is the pipeline message ``<msg_id>:ocr`` and the
  outbox id ``ocr-<transport>-<msg_id>``, so an entry answered twice (a reader or answerer that died
  half-way) gets the cached reply and the sender drops the second copy.

Only redacted text is written: secrets are masked here, before Redis or a log sees them; that one was
masked travels as ``secret_seen`` (the reply then says to reset it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from bot.core.keys import EVENTS_STREAM, OCR_GROUP, OCR_TEXT_STREAM
from bot.core.redact import redact_secrets

TEXT_MAXLEN = 10_000  # entries kept (approximately): answered ones are deleted, this bounds a backlog
FIELD = "read"  # the entry's one field: the TextRead as JSON
ROUTE = ("transport", "corp_id", "user_id", "msg_id", "chat_type", "chat_id")  # what the answer needs of the job


@dataclass(frozen=True)
class TextRead:
    """One image's outcome: the redacted text and its confidence, or why nothing was read (``bad``)."""

    user_key: str
    route: dict[str, Any] = field(default_factory=dict)  # the image message's transport, user, chat, msg_id
    text: str = ""
    confidence: float = 0.0
    bad: str | None = None
    secret_seen: bool = False
    seconds: float = 0.0

    @classmethod
    def of(cls, user_key: str, job: dict[str, Any], text: str, confidence: float, bad: str | None,
           seconds: float) -> TextRead:
        """From what was read in the ``image_received`` job: the text redacted, the download reference dropped."""
        redacted, secret_seen = redact_secrets(text)
        return cls(user_key, {k: job.get(k) for k in ROUTE}, redacted, confidence, bad, secret_seen, seconds)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_fields(cls, fields: dict | None) -> TextRead | None:
        """None for an entry that is not one (a malformed or foreign entry is acknowledged and dropped)."""
        try:
            data = json.loads((fields or {})[FIELD])
            return cls(str(data["user_key"]), dict(data["route"]), str(data["text"]), float(data["confidence"]),
                       str(data["bad"]) if data.get("bad") else None, bool(data["secret_seen"]),
                       float(data.get("seconds") or 0.0))
        except (KeyError, TypeError, ValueError):
            return None


def hand_off(client: redis.Redis, read: TextRead, event_id: str) -> None:
    """Add ``read`` for the answerers and acknowledge its ``image_received`` event, in one MULTI."""
    pipe = client.pipeline(transaction=True)
    pipe.xadd(OCR_TEXT_STREAM, {FIELD: read.to_json()}, maxlen=TEXT_MAXLEN, approximate=True)
    pipe.xack(EVENTS_STREAM, OCR_GROUP, event_id)
    pipe.execute()
