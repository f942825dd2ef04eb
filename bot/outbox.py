"""Messages the bot sends on its own (continuations, reminders, group notices) go through here.

Producers add a message to the Redis outbox inside their own transaction, so a message exists if
and only if the change that caused it was committed. The worker drains the outbox, paces it to
WeCom's limits and retries; see ``bot.sender``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.keys import OUTBOX_QUEUE

APP = "app"  # the self-built app's message/send to one user
WEBHOOK = "webhook"  # the group robot webhook (group notices)
RESPONSE_URL = "response_url"  # an AI-bot reply URL (once, within an hour)


@dataclass
class OutboxMessage:
    channel: str
    text: str
    to_user: str | None = None  # userid for APP (and to mention in WEBHOOK)
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


# Move an entry from one list to another only if it is still there (its owner may just have taken
# it): LREM the old form, then push the new form to the left (newest, like ``add``) or the right
# (next to be sent). Used to retry a dead letter and to return a message stranded mid-send.
MOVE_IF_PRESENT = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  if ARGV[3] == 'head' then redis.call('RPUSH', KEYS[2], ARGV[2]) else redis.call('LPUSH', KEYS[2], ARGV[2]) end
  return 1
end
return 0
"""


def add(pipe, message: OutboxMessage) -> None:
    """Queue ``message`` on a Redis pipeline (or client) — call inside the producer's MULTI."""
    pipe.lpush(OUTBOX_QUEUE, message.to_json())
