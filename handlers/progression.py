"""Moving through the six steps: the one place a step is completed (steps and certification share it)."""

from __future__ import annotations

from bot.messages import Event, Reply, Result
from bot.progress import CERT_PASSED, CERT_STEP, FINISHED, NOT_STARTED, STEP_COUNT
from handlers import views
from handlers.context import HandlerContext


def complete_current_step(ctx: HandlerContext, events: list[Event] | None = None) -> Result:
    """Mark the current step done and move on."""
    progress = ctx.progress
    finished_step = progress.step
    title = ctx.guide.step(finished_step).title.in_(ctx.lang)
    events = [*(events or []), *_complete(ctx, finished_step)]
    if finished_step == STEP_COUNT:
        progress.move_to(FINISHED, ctx.now)
        events.append(Event("all_done", {}))
        return Result(Reply("all_done", views.base(ctx, just_finished=True)), events)
    progress.move_to(finished_step + 1, ctx.now)
    context = views.base(ctx, finished_step=finished_step, finished_title=title)
    return Result(Reply("step_done", context, views.step_buttons(ctx)), events)


def complete_before(ctx: HandlerContext, step: int) -> list[Event]:
    """The user confirmed they did the steps before ``step`` on their own: tick them off, in order, so
    the funnel never shows a later step done and an earlier one open."""
    progress = ctx.progress
    events: list[Event] = []
    if progress.step == NOT_STARTED:
        events.append(Event("started", {"step": 1}))
    for number in range(max(progress.step, 1), step):
        if number == CERT_STEP and progress.cert.state != CERT_PASSED:
            progress.cert.state = CERT_PASSED
            progress.cert.since = ctx.now
            events.append(Event("cert_passed", {}))
        events.extend(_complete(ctx, number, caught_up=True))
    if progress.step < step:
        progress.move_to(step, ctx.now)
    return events


def _complete(ctx: HandlerContext, number: int, caught_up: bool = False) -> list[Event]:
    """``caught_up``: done earlier outside the bot, recorded now (counted, not announced in the group)."""
    progress = ctx.progress
    progress.complete_step(number)
    progress.checked[str(number)] = list(range(1, len(ctx.guide.step(number).items) + 1))
    return [Event("step_completed", {"step": number, "caught_up": True} if caught_up else {"step": number})]
