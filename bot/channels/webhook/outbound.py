"""The group robot webhook: into the support group, text (2048 bytes) or markdown (4096), paced per robot.

A text mentions its user through ``mentioned_list``; a markdown message that falls back to the group
from the app names them with ``<@userid>``. Over WEBHOOK_RATE_LIMIT a minute per robot WeCom answers 45009.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from bot.channels.wecom.api import WeComAPI
from bot.channels.wecom.failures import wecom_failures
from bot.core.keys import WEBHOOK_RATE_PREFIX
from bot.outbound.channel import MARKDOWN, TEMPLATE_CARD, TEXT, ChannelSpec, Content, Format, Rate
from bot.outbound.entry import WEBHOOK, OutboxMessage
from bot.outbound.pacing import Limit

if TYPE_CHECKING:
    from bot.outbound.config import SenderConfig

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
FORMATS = (Format(TEXT, TEXT_LIMIT), Format(MARKDOWN, MARKDOWN_LIMIT), Format(TEMPLATE_CARD, None))


class WebhookChannel:
    def __init__(self, api: WeComAPI, key: str, config: SenderConfig) -> None:
        self.api = api
        self.key = key
        self.spec = ChannelSpec(WEBHOOK, FORMATS, (Rate(config.webhook_limit, config.window + config.margin, "robot"),))
        self._robot = hashlib.sha256(key.encode()).hexdigest()[:16]  # the key itself stays out of Redis

    def content(self, message: OutboxMessage) -> Content:
        text = message.text
        markdown = message.fmt == MARKDOWN
        if message.channel != WEBHOOK and message.to_user:  # a message to one user falling back to the group
            text = f"<@{message.to_user}> {text}" if markdown else text
        msgtype = MARKDOWN if markdown else TEXT
        return Content(msgtype, text, self.spec.max_bytes(msgtype))

    def limits(self, message: OutboxMessage, target: str | None) -> list[Limit]:
        return self.spec.windows(WEBHOOK_RATE_PREFIX, self._robot)

    def send(self, message: OutboxMessage, target: str | None, msgtype: str, part: str) -> None:
        mention = [message.to_user] if message.to_user and msgtype == TEXT else None
        with wecom_failures():
            self.api.send_webhook(self.key, msgtype, part, mention)
