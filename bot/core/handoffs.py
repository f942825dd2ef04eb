"""The hand-off queue: users who asked for a person, until staff resolve it or it times out.

Why the state lives in the progress document (``Progress.handoff``): opening a hand-off, holding the
bot back and the user's next message all happen under the user's lock, and the store writes the
queue index (``HANDOFF_INDEX``, scored by when the user asked) in the same MULTI as the document
(``bot.core.store.Store._write_progress``) — so the queue and the users never disagree. Staff claim and
resolve through :class:`HandoffDesk`, under the same lock.

A hand-off is *active* (the bot keeps out of the user's free-text questions) from the request until
it is resolved, or until ``timeout`` seconds passed since the request or the last claim — a
forgotten hand-off must not silence the bot for ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.core.conversation import recent
from bot.core.guide import Guide
from bot.core.handoff_state import CLAIMED, WAITING, close, expires_at, is_open
from bot.core.keys import HANDOFF_INDEX
from bot.core.progress import FINISHED, NOT_STARTED, Progress
from bot.core.records import Event
from bot.core.render import Renderer
from bot.core.staff_messages import notice, shown_name
from bot.core.store import Store

DEFAULT_TIMEOUT = 4 * 3600.0
LOCK_WAIT = 2.0
LAST_MESSAGES = 3  # what the queue shows of each conversation


def timeout_from(settings: Settings) -> float:
    return settings.handoff_timeout


# -- the staff side ------------------------------------------------------------------------------------
class NotInQueue(LookupError):
    """The user has no open hand-off (already resolved, or never asked)."""


@dataclass
class HandoffRow:
    user_key: str
    user_id: str
    since: float
    waiting: float  # seconds since the user asked
    step: int
    step_title: str
    state: str  # waiting | claimed
    claimed_by: str | None
    claimed_at: float | None
    reason: str
    timed_out: bool
    expires_at: float | None
    last_messages: list[dict[str, Any]] = field(default_factory=list)  # newest first


@dataclass
class HandoffPage:
    items: list[HandoffRow]
    total: int
    offset: int
    limit: int
    timeout: float

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


class HandoffDesk:
    """What the operator view reads and does with the queue."""

    def __init__(self, store: Store, guide: Guide, now: Callable[[], float], timeout: float,
                 renderer: Renderer | None = None) -> None:
        self.store = store
        self.guide = guide
        self.now = now
        self.timeout = timeout
        self.renderer = renderer  # without one (tools, old callers) the user is not told

    def page(self, offset: int = 0, limit: int = 50) -> HandoffPage:
        """Longest waiting first, with each user's last messages."""
        redis = self.store.redis
        pipe = redis.pipeline(transaction=False)
        pipe.zcard(HANDOFF_INDEX)
        pipe.zrange(HANDOFF_INDEX, offset, offset + limit - 1)
        total, keys = pipe.execute()
        now = self.now()
        rows = [self._row(p, now) for p in self.store.load_many(keys) if is_open(p)]
        for row in rows:
            row.last_messages = recent(redis, row.user_key, LAST_MESSAGES)
        return HandoffPage(rows, total, offset, limit, self.timeout)

    def claim(self, user_key: str, operator: str) -> Progress:
        return self._change(user_key, operator, "handoff_claimed")

    def resolve(self, user_key: str, operator: str) -> Progress:
        return self._change(user_key, operator, "handoff_resolved")

    def _change(self, user_key: str, operator: str, kind: str) -> Progress:
        with self.store.user_lock(user_key, wait=LOCK_WAIT):
            progress = self.store.load(user_key)
            if progress is None or not is_open(progress):
                raise NotInQueue(user_key)
            now = self.now()
            waited = round(now - float(progress.handoff["since"]))
            if kind == "handoff_claimed":
                progress.handoff = {**progress.handoff, "state": CLAIMED, "claimed_by": operator, "claimed_at": now}
            else:
                close(progress)
            data = {"by": operator, "after": waited}
            progress.record(kind, now, **data)
            outbox, line = [], None
            if self.renderer is not None:  # the user hears who has their case, and when the bot is back
                context = {"name": shown_name(operator), "step": progress.step, "started": progress.started,
                           "finished": progress.finished}
                message, line = notice(self.renderer, progress, kind, context, by=operator, now=now)
                outbox.append(message)
            self.store.commit(progress, progress.step, [Event(kind, data)], None, outbox, conversation=line)
            return progress

    def _row(self, p: Progress, now: float) -> HandoffRow:
        handoff = p.handoff
        since = float(handoff["since"])
        step = int(handoff.get("step", p.step))
        title = "" if step in (NOT_STARTED, FINISHED) else self.guide.step(step).title.zh
        expiry = expires_at(p, self.timeout)
        return HandoffRow(p.user_key, p.user_id, since, max(0.0, now - since), step, title,
                          str(handoff.get("state", WAITING)), handoff.get("claimed_by"), handoff.get("claimed_at"),
                          str(handoff.get("reason", "")), expiry is not None and now >= expiry, expiry)
