"""What a handler gets: the message, what it means, the user's progress (to read) and services.

A handler never changes progress: it returns the changes that happened (bot.core.progress_reducer), which
the dispatch applies. ``after`` previews them, for a reply that shows the state they lead to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.messages import Incoming
from bot.core.progress import Progress
from bot.core.progress_reducer import Change, apply
from bot.understand import Reading

if TYPE_CHECKING:
    from bot.core.guide import Guide
    from bot.faq import KnowledgeBase


class HandlerServices(Protocol):
    """The only dependencies a handler has: no store, no Redis, no renderer. Handlers decide; the
    pipeline loads, saves and renders. ``bot.core.pipeline.Services`` (built by ``bot.wiring.services``)
    provides them."""

    @property
    def guide(self) -> Guide: ...

    @property
    def knowledge(self) -> KnowledgeBase | None: ...  # the FAQ topics answers come from

    @property
    def support_staff(self) -> tuple[str, ...]: ...  # empty when nothing can reach staff

    @property
    def handoff_timeout(self) -> float: ...

    @property
    def cert_check(self) -> Callable[[float], dict[str, Any]] | None: ...  # when the first follow-up goes out

    @property
    def can_message_privately(self) -> bool: ...  # the app can send on its own: group details go 1:1


@dataclass
class HandlerContext:
    incoming: Incoming
    reading: Reading  # what the message means, read in the user's context (bot.understand)
    progress: Progress
    now: float
    services: HandlerServices
    pending: str | None = None  # the question the bot was waiting on when this message came

    @property
    def guide(self) -> Guide:
        return self.services.guide

    @property
    def lang(self) -> str:
        return self.progress.lang

    def is_(self, *intents: str) -> bool:
        return self.reading.intent in intents

    def after(self, changes: Sequence[Change]) -> HandlerContext:
        """This context as it will be once ``changes`` are applied (the progress read stays as it was)."""
        if not changes:
            return self
        progress = apply(self.progress, changes, now=self.now).progress
        return HandlerContext(self.incoming, self.reading, progress, self.now, self.services, self.pending)


@dataclass
class Passed:
    """A handler's "not mine" that still changed something (a timed-out hand-off closed): the next
    handlers see the change and the answer's changes follow it."""

    changes: list[Change] = field(default_factory=list)
