"""The outbox entry, and the names of the channels a message can ask for or be routed to.

Producers add a message to the Redis outbox inside their own transaction (``bot.outbound.queue.add``),
so a message exists if and only if the change that caused it was committed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

USER = "user"  # to one user, wherever they last spoke (``bot.outbound.routing``): reminders, nudges
APP = "app"  # the self-built app's message/send to one user (also "to the user": routed like USER)
WEBHOOK = "webhook"  # the group robot webhook (group notices)
RESPONSE_URL = "response_url"  # an AI-bot reply URL (once, within an hour)
LONGCONN = "longconn"  # the AI bot's long connection (aibot_send_msg): a route, never asked for
KF = "kf"  # 微信客服's kf/send_msg to one customer of one kf account (bot.channels.kf.outbound)


@dataclass
class OutboxMessage:
    channel: str
    text: str
    to_user: str | None = None  # userid for APP/USER (and to mention in WEBHOOK)
    fmt: str = "text"  # "text" | "markdown"
    url: str | None = None  # for RESPONSE_URL
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    attempts: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> OutboxMessage:
        return cls(**json.loads(raw))

    @property
    def private(self) -> bool:
        """The rest of a reply (always), or a message marked private: for the user's 1:1 chat only."""
        return bool(self.meta.get("private") or self.meta.get("continues"))

    @property
    def reminder(self) -> bool:
        return str(self.meta.get("kind", "")).startswith("reminder_")
