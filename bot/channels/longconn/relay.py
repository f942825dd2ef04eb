"""The Redis hop between the outbox sender (worker) and the connection holder: only the holder can send.

The worker's sender keeps everything it does for every channel — choosing the route, pacing,
retries, dead letters — and for the long connection hands one ``aibot_send_msg`` body to the holder
through a Redis list, then waits for WeCom's ack on a reply key. A request carries a deadline: the
holder drops one it took too late (the sender has already counted it as failed and will retry, so
sending it too would show the message twice). A request nobody took is taken back by the sender,
so "no holder running" is known not to have been delivered.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis

from bot.channels.wecom.api import WeComError
from bot.core.keys import longconn_reply_key, longconn_requests_key
from bot.infra.redis_conn import as_str

log = logging.getLogger(__name__)

REPLY_TTL = 60


@dataclass(frozen=True)
class RelayRequest:
    id: str
    body: dict[str, Any]
    deadline: float
    raw: str

    @classmethod
    def parse(cls, raw: str) -> RelayRequest | None:
        try:
            doc = json.loads(raw)
            return cls(str(doc["id"]), dict(doc["body"]), float(doc["deadline"]), raw)
        except (ValueError, TypeError, KeyError):
            log.error("relay: unreadable request dropped: %.80s", raw)
            return None


class RelaySender:
    """The sender's side: one ``aibot_send_msg`` through the holder; raises ``WeComError`` on failure."""

    def __init__(self, client: redis.Redis, bot_id: str, timeout: float = 5.0) -> None:
        self.redis = client
        self.key = longconn_requests_key(bot_id)
        self.timeout = timeout

    def send(self, body: dict[str, Any]) -> None:
        request_id = uuid.uuid4().hex
        raw = json.dumps({"id": request_id, "body": body, "deadline": time.time() + self.timeout},
                         ensure_ascii=False)
        self.redis.lpush(self.key, raw)
        answer = self.redis.blpop([longconn_reply_key(request_id)], timeout=max(self.timeout, 0.1) + 0.5)
        if answer is None:
            if self.redis.lrem(self.key, 1, raw):
                raise WeComError("long connection: no holder took the message (is `python -m bot connect` running?)")
            raise WeComError("long connection: no answer from the holder in time (may have been delivered)")
        doc = json.loads(answer[1])
        if doc.get("error"):
            raise WeComError(f"long connection: {doc['error']}")
        errcode = int(doc.get("errcode") or 0)
        if errcode:
            raise WeComError(f"aibot_send_msg: errcode {errcode} {doc.get('errmsg', '')}".strip(), errcode)


def take(client: redis.Redis, bot_id: str, block: float) -> RelayRequest | None:
    """The holder's side: the next request, waiting up to ``block`` seconds."""
    item = client.brpop([longconn_requests_key(bot_id)], timeout=block)
    return RelayRequest.parse(as_str(item[1])) if item else None


def answer(client: redis.Redis, request: RelayRequest, *, errcode: int = 0, errmsg: str = "",
           error: str | None = None) -> None:
    doc = {"error": error} if error else {"errcode": errcode, "errmsg": errmsg}
    with client.pipeline(transaction=True) as pipe:
        pipe.lpush(longconn_reply_key(request.id), json.dumps(doc, ensure_ascii=False))
        pipe.expire(longconn_reply_key(request.id), REPLY_TTL)
        pipe.execute()
