"""The self-built app's ``message/send``: to one member (or "a|b"), text or markdown, 2048 bytes.

WeCom's limits per app per member, a minute and an hour (APP_RATE_LIMIT, APP_HOURLY_LIMIT); past them
messages are dropped silently, so the sender paces to them rather than finding out. The app's 1:1 chat shows markdown
poorly: a message that carries a plain variant (``meta.plain``) is sent as that text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.channels.wecom.api import WeComAPI
from bot.channels.wecom.failures import wecom_failures
from bot.core.keys import APP_RATE_PREFIX, key_part
from bot.outbound.channel import MARKDOWN, TEMPLATE_CARD, TEXT, ChannelSpec, Content, Format, Rate
from bot.outbound.entry import APP, OutboxMessage
from bot.outbound.pacing import Limit

if TYPE_CHECKING:
    from bot.outbound.config import SenderConfig

TEXT_LIMIT = 2048  # bytes, text and markdown alike
FORMATS = (Format(TEXT, TEXT_LIMIT), Format(MARKDOWN, TEXT_LIMIT), Format(TEMPLATE_CARD, None))


class AppChannel:
    def __init__(self, api: WeComAPI, config: SenderConfig) -> None:
        self.api = api
        self.spec = ChannelSpec(APP, FORMATS, (
            Rate(config.app_limit, config.window + config.margin, "member", ":m"),
            Rate(config.app_hourly_limit, config.hourly_window + config.margin, "member", ":h"),
        ))

    def content(self, message: OutboxMessage) -> Content:
        plain = message.meta.get("plain")
        if plain:
            return Content(TEXT, plain, self.spec.max_bytes(TEXT))
        msgtype = MARKDOWN if message.fmt == MARKDOWN else TEXT
        return Content(msgtype, message.text, self.spec.max_bytes(msgtype))

    def limits(self, message: OutboxMessage, target: str | None) -> list[Limit]:
        limits: list[Limit] = []
        for user in (message.to_user or "").split("|"):
            limits += self.spec.windows(APP_RATE_PREFIX, key_part(user))
        return limits

    def send(self, message: OutboxMessage, target: str | None, msgtype: str, part: str) -> None:
        with wecom_failures():
            self.api.send_app(message.to_user or "", msgtype, part)
