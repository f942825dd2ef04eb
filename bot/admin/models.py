"""What the operator view shows, as plain data: the pages, the JSON API and the benchmark share these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.progress import Progress


@dataclass
class StepStat:
    step: int
    title: str
    title_en: str
    users: int
    median_on_step: float | None  # seconds since entering the step, median over its users
    oldest_on_step: float | None  # the longest anyone on this step has been there


@dataclass
class Funnel:
    now: float
    total: int
    steps: list[StepStat]
    cert_pending: int
    stuck: int
    stuck_after: float  # the idle threshold (seconds) the ``stuck`` count used


@dataclass
class UserRow:
    """One user, as a list row: enough to decide whether to open their timeline."""

    user_key: str
    user_id: str
    step: int
    step_title: str
    idle: float  # seconds since the user last wrote
    on_step: float | None  # seconds since they entered the current step
    last_seen: float
    cert_state: str
    cert_attempts: int
    cert_since: float | None
    lang: str
    muted: bool
    last_event: str | None
    with_person: bool = False  # in the hand-off queue (bot.core.handoffs): the bot holds back, reminders wait
    handoff_state: str | None = None  # "waiting" | "claimed" while with_person
    handoff_by: str | None = None  # who claimed it


@dataclass
class Followup:
    kind: str
    due: float


@dataclass
class PendingRow:
    user: UserRow
    since: float
    elapsed: float
    next_followup: Followup | None


@dataclass
class Page:
    items: list[Any]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass
class Question:
    user_key: str
    at: float | None
    text: str
    best_guess: str | None
    best_guess_title: str | None
    score: float | None
    reason: str = "unsure"  # unsure | rejected ("2 还不行") | human_after_answer (a confident answer, then "人工")


@dataclass
class DeadLetter:
    id: str | None
    channel: str | None
    to_user: str | None
    text: str
    attempts: int
    error: str | None
    failed_at: float | None
    meta: dict[str, Any] = field(default_factory=dict)
    raw: str | None = None  # set when the entry is not a readable OutboxMessage


@dataclass
class UserDetail:
    user: UserRow
    progress: Progress
    followups: list[Followup]
    history: list[dict[str, Any]]  # newest first
    conversation: list[dict[str, Any]] = field(default_factory=list)  # bot.core.conversation entries, newest first
