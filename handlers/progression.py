"""Moving through the six steps: the one place a step is completed (steps and certification share it).

The invariant kept here: no step is done while an earlier one is open, unless the user said the
earlier ones were done elsewhere (then they are recorded as caught up: ``step_completed`` with
``caught_up``), and each step's completion is recorded once — going back and forward again records
nothing new.
"""

from __future__ import annotations

from bot.core.messages import Event, Reply, Result
from bot.core.progress import CERT_PASSED, CERT_STEP, FINISHED, NOT_STARTED, STEP_COUNT, Progress
from handlers import views
from handlers.clarify import CONFIRM_READING
from handlers.context import HandlerContext

EARLIER_OPEN = "earlier_open"  # the kind of the question "第1、2步也在别处做完了吗？"


def open_before(progress: Progress, step: int) -> list[int]:
    """Steps before ``step`` not done yet."""
    return [n for n in range(1, min(step, STEP_COUNT + 1)) if n not in progress.completed]


def earlier_steps(ctx: HandlerContext) -> tuple[Result | None, list[Event]]:
    """Before the current step is completed: earlier steps still open are asked about, or — when the
    user confirmed they were done elsewhere — ticked off first. (question, catch-up events)."""
    progress = ctx.progress
    if progress.step in (NOT_STARTED, FINISHED):
        return None, []
    missing = open_before(progress, progress.step)
    if not missing:
        return None, []
    reading = ctx.reading
    if reading.kind == EARLIER_OPEN and reading.source == "pending":
        return None, complete_before(ctx, progress.step)
    progress.pending = CONFIRM_READING
    progress.proposal = {"intent": reading.intent if reading.intent != "next" else "done", "step": None,
                         "items": [], "kind": EARLIER_OPEN, "asked_by": ""}
    context = views.base(ctx, kind=EARLIER_OPEN, open_steps=missing, proposal=progress.proposal,
                         target_step=progress.step)
    return Result(Reply("clarify", context)), []


def complete_current_step(ctx: HandlerContext, events: list[Event] | None = None) -> Result:
    """Mark the current step done and move on (after asking about earlier steps still open)."""
    progress = ctx.progress
    asked, caught_up = earlier_steps(ctx)
    if asked is not None:
        return Result(asked.reply, [*(events or []), *asked.events])
    finished_step = progress.step
    title = ctx.guide.step(finished_step).title.in_(ctx.lang)
    events = [*(events or []), *caught_up, *_complete(ctx, finished_step)]
    if finished_step == STEP_COUNT:
        progress.move_to(FINISHED, ctx.now)
        events.append(Event("all_done", {}))
        return Result(Reply("all_done", views.base(ctx, just_finished=True)), events)
    progress.move_to(finished_step + 1, ctx.now)
    context = views.base(ctx, finished_step=finished_step, finished_title=title)
    return Result(Reply("step_done", context, views.step_buttons(ctx)), events)


def complete_before(ctx: HandlerContext, step: int) -> list[Event]:
    """The user confirmed they did the steps before ``step`` on their own: tick off every one still
    open, in order, so the funnel never shows a later step done and an earlier one open."""
    progress = ctx.progress
    events: list[Event] = []
    if progress.step == NOT_STARTED:
        events.append(Event("started", {"step": 1}))
    for number in open_before(progress, step):
        if number == CERT_STEP and progress.cert.state != CERT_PASSED:
            progress.cert.state = CERT_PASSED
            progress.cert.since = ctx.now
            events.append(Event("cert_passed", {}))
        events.extend(_complete(ctx, number, caught_up=True))
    if progress.step < step:
        progress.move_to(step, ctx.now)
    return events


def _complete(ctx: HandlerContext, number: int, caught_up: bool = False) -> list[Event]:
    """``caught_up``: done earlier outside the bot, recorded now (counted, not announced in the group).
    A step completed before (the user went back and forward again) is not recorded twice."""
    progress = ctx.progress
    progress.checked[str(number)] = list(range(1, len(ctx.guide.step(number).items) + 1))
    if number in progress.completed:
        return []
    progress.complete_step(number)
    return [Event("step_completed", {"step": number, "caught_up": True} if caught_up else {"step": number})]
