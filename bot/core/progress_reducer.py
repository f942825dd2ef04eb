"""The one place a user's progress changes: handlers say what happened, :func:`apply` makes it so.

Why: when handlers changed progress and wrote events beside it, the change and its record could drift
apart (after 上一步 then 下一步 the event stream once had the same step completed twice). Here each change
below is applied and recorded by the same few lines, so the event stream says what progress shows —
Rasa's rule: the events are the state change. The funnel invariant is enforced here too: no step is
completed while an earlier one is open (steps done elsewhere are completed first, in order, marked
``caught_up``), a step's completion is recorded once, and only a user with all six steps done is
finished. A change that would break it raises :class:`FunnelBroken` and nothing is committed.

:func:`apply` never changes the progress it is given (it works on a :meth:`Progress.copy`), so a handler
can preview the state its reply shows (``HandlerContext.after``) with the same function the pipeline
commits with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from bot.core import handoff_state
from bot.core.progress import (
    CERT_FAILED,
    CERT_PASSED,
    CERT_PENDING,
    CERT_STEP,
    FINISHED,
    STEP_COUNT,
    Progress,
)
from bot.core.records import GROUP_NEWS, Event


class FunnelBroken(ValueError):
    """A change would leave a step done while an earlier one is open (a handler skipped the question)."""


# -- the steps -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    """Registration begins; the user enters ``step`` (1, or a later one whose earlier steps were done elsewhere)."""

    step: int = 1


@dataclass(frozen=True)
class MovedTo:
    """The user went to a step (上一步, 第N步): recorded as ``step_changed``."""

    step: int


@dataclass(frozen=True)
class MovedOn:
    """On to ``step`` because the steps before it were just completed (their completions are the record)."""

    step: int


@dataclass(frozen=True)
class Finished:
    """All six steps done: recorded as ``all_done``."""


@dataclass(frozen=True)
class StepCompleted:
    """A step is done: its whole checklist is ticked; the completion is recorded once per registration.
    ``caught_up``: done earlier outside the bot, recorded now (counted, not announced in the group)."""

    step: int
    item_count: int
    caught_up: bool = False


@dataclass(frozen=True)
class ItemsChecked:
    """Checklist items ticked on ``step`` (``corrected``: unticked first, "不是3，是4")."""

    step: int
    items: tuple[int, ...]
    corrected: tuple[int, ...] = ()


@dataclass(frozen=True)
class ItemsUnchecked:
    """Checklist items unticked on ``step`` (recorded as ``item_checked``, as the stream always has)."""

    step: int
    items: tuple[int, ...]
    corrected: tuple[int, ...] = ()


@dataclass(frozen=True)
class Reset:
    """A fresh registration for the same person (Progress.reset says what is kept)."""


# -- step 3's certification ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CertSubmitted:
    """Credentials submitted: pending, one more attempt, the step's first two items ticked."""


@dataclass(frozen=True)
class CertPassed:
    pass


@dataclass(frozen=True)
class CertFailed:
    pass


# -- conversation state --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Muted:
    """Reminders off (``on``) or back on: recorded as ``mute`` / ``unmute``."""

    on: bool


@dataclass(frozen=True)
class Asked:
    """The bot waits on an answer to ``pending`` ("confirm_reset", "confirm_reading", "faq_feedback", ...)."""

    pending: str
    proposal: dict[str, Any] | None = None  # the reading a "confirm_reading" question asks about


@dataclass(frozen=True)
class QuestionLapsed:
    """Whatever the bot was waiting on is answered, or lapses, with this message."""


@dataclass(frozen=True)
class OpenItemsAsked:
    """The open checklist items of ``step`` were asked about (asked once per step)."""

    step: int


@dataclass(frozen=True)
class FaqRemembered:
    """The last FAQ answer or choices offered (topic, alternatives, tried), for the follow-up."""

    state: dict[str, Any]


@dataclass(frozen=True)
class HandoffOpened:
    reason: str  # "asked" or "faq"


@dataclass(frozen=True)
class HandoffTimedOut:
    """Nobody resolved the hand-off in time: closed, on the timeline only."""

    after: int  # seconds since it opened


@dataclass(frozen=True)
class Contacted:
    """A message came: when, in which chat and language, and how to answer it later."""

    transport: str
    chat_type: str
    chat_id: str | None
    lang: str
    response_url: str | None = None
    response_url_expires: float | None = None


@dataclass(frozen=True)
class SecretRedacted:
    """The message held a secret, masked before anything saw it: on the timeline only."""


@dataclass(frozen=True)
class Exchanged:
    """What to remember of this message for the next one (bot.core.conversation.exchange)."""

    exchange: dict[str, Any]


@dataclass(frozen=True)
class Activity:
    """The message was handled: an ``activity`` record with the step the user is on now (stream only)."""


@dataclass(frozen=True)
class Note:
    """Something that happened and changes no progress (an FAQ answer, a feedback click, an image received):
    recorded as it is. A kind that one of the changes above records is refused — that record comes with its change."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind in CHANGE_KINDS:
            raise ValueError(f"{self.kind!r} is recorded by its change, not as a note")


Change = (Started | MovedTo | MovedOn | Finished | StepCompleted | ItemsChecked | ItemsUnchecked | Reset
          | CertSubmitted | CertPassed | CertFailed | Muted | Asked | QuestionLapsed | OpenItemsAsked
          | FaqRemembered | HandoffOpened | HandoffTimedOut | Contacted | SecretRedacted | Exchanged | Activity
          | Note)

# Record kinds only the changes above write.
CHANGE_KINDS = frozenset({"started", "step_changed", "step_completed", "all_done", "item_checked", "reset",
                          "cert_submitted", "cert_passed", "cert_failed", "mute", "unmute", "handoff_opened",
                          "handoff_timed_out", "secret_redacted", "activity"})


class Applied(NamedTuple):
    progress: Progress  # a new object; the one given is unchanged
    records: list[Event]  # for the event stream, in order, committed with the progress in one MULTI


def apply(progress: Progress, changes: Iterable[Change], *, now: float, in_group: bool = False) -> Applied:
    """Apply ``changes`` in order to a copy of ``progress``; return it with the records they make.

    Each record but ``activity`` goes on the user's timeline (``history``) too. ``in_group``: the message
    came in a group, whose reply announced any completion, so planning sends no notice of it.
    """
    state = progress.copy()
    records: list[Event] = []
    for change in changes:
        state, made, timeline = _one(state, change, now)
        for kind, data in made:
            if in_group and kind in GROUP_NEWS:
                data = {**data, "in_group": True}
            records.append(Event(kind, data))
            if kind != "activity":
                timeline.append((kind, data))
        for kind, data in timeline:  # "_" fields (an image's download URL) and texts are for the stream only
            state.record(kind, now, **{k: v for k, v in data.items() if k != "text" and not k.startswith("_")})
    return Applied(state, records)


Made = list[tuple[str, dict[str, Any]]]


def _one(p: Progress, change: Change, now: float) -> tuple[Progress, Made, Made]:
    """Change ``p`` (a private copy) by one change: (the state, its records, timeline-only entries)."""
    match change:
        case Started(step):
            p.move_to(step, now)
            return p, [("started", {"step": 1})], []
        case MovedTo(step):
            p.move_to(step, now)
            return p, [("step_changed", {"step": step})], []
        case MovedOn(step):
            p.move_to(step, now)
            return p, [], []
        case Finished():
            if sorted(p.completed) != list(range(1, STEP_COUNT + 1)):
                raise FunnelBroken(f"finished with steps {p.completed} done")
            p.move_to(FINISHED, now)
            return p, [("all_done", {})], []
        case StepCompleted(step, item_count, caught_up):
            p.checked = {**p.checked, str(step): list(range(1, item_count + 1))}
            if step in p.completed:
                return p, [], []  # back and forward again: done once, recorded once
            if open_steps := [n for n in range(1, step) if n not in p.completed]:
                raise FunnelBroken(f"step {step} completed while {open_steps} are open")
            p.complete_step(step)
            return p, [("step_completed", {"step": step, "caught_up": True} if caught_up else {"step": step})], []
        case ItemsChecked(step, items, corrected) | ItemsUnchecked(step, items, corrected):
            kept = set(p.checked_items(step)) - set(corrected)
            ticked = kept | set(items) if isinstance(change, ItemsChecked) else kept - set(items)
            p.checked = {**p.checked, str(step): sorted(ticked)}
            return p, [("item_checked", {"item": n}) for n in items], []
        case Reset():
            return p.reset(now), [("reset", {})], []
        case CertSubmitted():
            p.cert = replace(p.cert, state=CERT_PENDING, since=now, attempts=p.cert.attempts + 1)
            p.checked = {**p.checked, str(CERT_STEP): sorted(set(p.checked_items(CERT_STEP)) | {1, 2})}
            return p, [("cert_submitted", {"attempt": p.cert.attempts})], []
        case CertPassed():
            p.cert = replace(p.cert, state=CERT_PASSED, since=now)
            return p, [("cert_passed", {})], []
        case CertFailed():
            p.cert = replace(p.cert, state=CERT_FAILED, since=now)
            return p, [("cert_failed", {"attempt": p.cert.attempts})], []
        case Muted(on):
            p.muted = on
            return p, [("mute" if on else "unmute", {})], []
        case Asked(pending, proposal):
            p.pending, p.proposal = pending, proposal
            return p, [], []
        case QuestionLapsed():
            p.pending, p.proposal = None, None
            return p, [], []
        case OpenItemsAsked(step):
            p.open_items_asked = step
            return p, [], []
        case FaqRemembered(state):
            p.faq = state
            return p, [], []
        case HandoffOpened(reason):
            handoff_state.open_handoff(p, now, reason)
            return p, [("handoff_opened", {"reason": reason})], []
        case HandoffTimedOut(after):
            handoff_state.close(p)
            return p, [], [("handoff_timed_out", {"after": after})]
        case Contacted(transport, chat_type, chat_id, lang, response_url, expires):
            p.lang, p.last_seen = lang, now
            p.last_chat = {"transport": transport, "chat_type": chat_type, "chat_id": chat_id}
            if chat_type == "group" and chat_id:
                p.wrote_in_group(transport, chat_id)
            if response_url:
                p.response_url, p.response_url_expires = response_url, expires
            return p, [], []
        case SecretRedacted():
            return p, [], [("secret_redacted", {})]
        case Exchanged(exchange):
            p.last_exchange = exchange
            return p, [], []
        case Activity():
            return p, [("activity", {"step": p.step, "at": now})], []
        case Note(kind, data):
            return p, [(kind, data)], []
    raise TypeError(f"not a progress change: {change!r}")


def apply_in_place(progress: Progress, changes: Iterable[Change], *, now: float, in_group: bool = False) -> list[Event]:
    """:func:`apply`, then make ``progress`` that state: for a caller that holds the object (the handler
    dispatch, whose callers read the progress they passed in). Returns the records."""
    applied = apply(progress, changes, now=now, in_group=in_group)
    vars(progress).update(vars(applied.progress))
    return applied.records

