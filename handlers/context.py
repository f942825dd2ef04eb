"""What a handler gets: the message, the user's progress (its to change) and the shared services."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from bot.messages import Incoming
from bot.progress import Progress
from handlers.intents import Intent, parse

if TYPE_CHECKING:
    from bot.guide import Guide
    from bot.pipeline import Services


@dataclass
class HandlerContext:
    incoming: Incoming
    progress: Progress
    now: float
    services: Services

    @cached_property
    def intent(self) -> Intent | None:
        return parse(self.incoming.text)

    @property
    def guide(self) -> Guide:
        return self.services.guide

    @property
    def lang(self) -> str:
        return self.progress.lang
