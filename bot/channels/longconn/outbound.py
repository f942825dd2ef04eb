"""The AI bot's long connection as an outbound channel: ``aibot_send_msg``, markdown, 20480 bytes.

Only the connection holder can send; the sender hands it one body through Redis
(``bot.channels.longconn.relay``) and waits for WeCom's ack. Which chat a message goes to:
- the rest of a reply, or a card click's answer, given on the long connection (``meta.transport``)
  goes back to the chat it belongs to (the group, or the user's private chat with the bot);
- a message to one user goes to their private chat with the bot when the long connection is where
  they last spoke (``bot.outbound.routing``), and as a last resort when nothing else reaches them;
- a staff notice goes to the staff group WECOM_NOTICE_CHATID when no webhook is configured (never a
  customer group), and a notice about a user only to a group that user wrote in (``bot.outbound.routing``).
Limits: reported, not confirmed by WeCom — 30 a minute and 1,000 an hour per chat
(``WS_SEND_RATE_LIMIT``, ``WS_SEND_HOURLY_LIMIT``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from bot.channels.longconn import protocol as wire
from bot.channels.longconn.relay import RelaySender
from bot.channels.wecom.failures import wecom_failures
from bot.config import LongConnSettings, Settings, longconn_settings
from bot.core.keys import LONGCONN_RATE_PREFIX
from bot.core.store import Store
from bot.outbound.channel import MARKDOWN, TEMPLATE_CARD, ChannelSpec, Content, Format, Rate
from bot.outbound.entry import LONGCONN, OutboxMessage
from bot.outbound.pacing import Limit

if TYPE_CHECKING:
    from bot.outbound.config import SenderConfig

TRANSPORT = "aibot_ws"  # the Incoming transport of messages received on the long connection
CONTENT_LIMIT = 20480  # bytes of markdown per aibot_send_msg (as the stream content)
FORMATS = (Format(MARKDOWN, CONTENT_LIMIT), Format(TEMPLATE_CARD, None))


class LongConnChannel:
    def __init__(self, ws: LongConnSettings, store: Store, config: SenderConfig) -> None:
        self.ws = ws
        self.redis: redis.Redis = store.redis
        self.relay = RelaySender(store.redis, ws.bot_id, config.http_timeout)
        self.spec = ChannelSpec(LONGCONN, FORMATS, (
            Rate(ws.send_limit, config.window + config.margin, "chat", ":m"),
            Rate(ws.send_hourly_limit, config.hourly_window + config.margin, "chat", ":h"),
        ))

    @classmethod
    def configured(cls, settings: Settings, store: Store, config: SenderConfig) -> LongConnChannel | None:
        ws = longconn_settings(settings)
        return cls(ws, store, config) if ws else None

    def reply_chat(self, message: OutboxMessage) -> str | None:
        """The chat a reply given on the long connection continues in, or None."""
        if message.meta.get("transport") != TRANSPORT:
            return None
        return message.meta.get("chat_id") or message.to_user or None

    @property
    def staff_chat(self) -> str | None:
        """The configured staff group (WECOM_NOTICE_CHATID), or None: staff notices go nowhere else here."""
        return self.ws.notice_chat_id

    def content(self, message: OutboxMessage) -> Content:
        return Content(MARKDOWN, message.text, CONTENT_LIMIT)

    def limits(self, message: OutboxMessage, target: str | None) -> list[Limit]:
        return self.spec.windows(LONGCONN_RATE_PREFIX, target or "")

    def send(self, message: OutboxMessage, target: str | None, msgtype: str, part: str) -> None:
        with wecom_failures():
            self.relay.send(wire.markdown(target or "", part))
