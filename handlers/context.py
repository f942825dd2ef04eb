"""What a handler gets: the message, what it means, the user's progress (its to change) and services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.messages import Incoming
from bot.progress import Progress
from bot.understand import Reading

if TYPE_CHECKING:
    from bot.guide import Guide
    from bot.pipeline import Services


@dataclass
class HandlerContext:
    incoming: Incoming
    reading: Reading  # what the message means, read in the user's context (bot.understand)
    progress: Progress
    now: float
    services: Services
    pending: str | None = None  # the question the bot was waiting on when this message came

    @property
    def guide(self) -> Guide:
        return self.services.guide

    @property
    def lang(self) -> str:
        return self.progress.lang

    def is_(self, *intents: str) -> bool:
        return self.reading.intent in intents
