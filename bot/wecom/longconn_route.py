"""The long connection as an outbox channel: where a message goes, its limits, its format, its send.

The sender (``bot.sender``) asks ``target`` first; a chat id means "send this through the long
connection", None means "not this channel". Rules:
- the rest of a reply, or a card click's answer, given on the long connection (``meta.transport``)
  goes back to the chat it belongs to (the group, or the user's private chat with the bot);
- a message to one user (a certification follow-up, an idle nudge) goes to their private chat with
  the bot when the long connection is where they last spoke (``progress.last_chat``);
- a group notice goes to the support group when no webhook is configured: WECOM_NOTICE_CHATID, else
  the user's own last group, else the last group the bot heard from;
- and when nothing else can reach a user (no app secret, no webhook), their private chat with the bot.
Limits: reported, not confirmed by WeCom — 30 a minute and 1,000 an hour per chat.
"""

from __future__ import annotations

from typing import Any

import redis

from bot.config import LongConnSettings
from bot.keys import longconn_last_group_key, longconn_rate_key
from bot.outbox import WEBHOOK, OutboxMessage
from bot.redis_conn import optional_str
from bot.store import Store
from bot.wecom import longconn_protocol as wire
from bot.wecom.longconn_relay import RelaySender

LONGCONN = "longconn"  # the outbox route name
TRANSPORT = "aibot_ws"  # the Incoming transport of messages received on the long connection
CONTENT_LIMIT = 20480  # bytes of markdown per aibot_send_msg (as the stream content)


class LongConnRoute:
    def __init__(self, config: LongConnSettings, store: Store, corp_id: str, timeout: float = 5.0) -> None:
        self.config = config
        self.corp_id = corp_id
        self.store = store
        self.redis: redis.Redis = store.redis
        self.relay = RelaySender(store.redis, config.bot_id, timeout)

    def target(self, message: OutboxMessage, *, webhook: bool, fallback: bool = False) -> str | None:
        """The chat id to send ``message`` to through the long connection, or None."""
        meta = message.meta
        user = message.to_user or ""
        if meta.get("transport") == TRANSPORT:
            return meta.get("chat_id") or user or None
        if meta.get("transport") and not fallback:
            return None  # the rest of a reply given elsewhere belongs to that chat
        if message.channel == WEBHOOK:
            return None if webhook else self._group(meta, user)
        if not user or "|" in user:
            return None
        if fallback or self._last_transport(meta, user) == TRANSPORT:
            return user
        return None

    def _last_chat(self, meta: dict[str, Any], user: str) -> dict[str, Any]:
        user_key = meta.get("user_key") or (f"{self.corp_id}:{user}" if user else "")
        progress = self.store.load(user_key) if user_key else None
        return (progress.last_chat or {}) if progress is not None else {}

    def _last_transport(self, meta: dict[str, Any], user: str) -> str | None:
        return self._last_chat(meta, user).get("transport")

    def _group(self, meta: dict[str, Any], user: str) -> str | None:
        if self.config.notice_chat_id:
            return self.config.notice_chat_id
        last = self._last_chat(meta, user)
        if last.get("chat_type") == "group" and last.get("chat_id"):
            return str(last["chat_id"])
        return optional_str(self.redis.get(longconn_last_group_key(self.config.bot_id)))

    def limits(self, chat_id: str, window: float, hourly_window: float) -> list[tuple[str, int, float]]:
        return [(longconn_rate_key(chat_id, "m"), self.config.send_limit, window),
                (longconn_rate_key(chat_id, "h"), self.config.send_hourly_limit, hourly_window)]

    def send(self, chat_id: str, content: str) -> None:
        self.relay.send(wire.markdown(chat_id, content))
