"""The six steps: start, status, next/back, jump to a step, tick checklist items, done, reset."""

from __future__ import annotations

from bot.messages import Event, Reply, Result
from bot.progress import CERT_PASSED, CERT_PENDING, CERT_STEP, FINISHED, NOT_STARTED, STEP_COUNT, Progress
from handlers import certification, handoff, views
from handlers.context import HandlerContext

CONFIRM_RESET = "confirm_reset"


def handle(ctx: HandlerContext) -> Result | None:
    intent = ctx.intent
    if intent is None:
        return None
    action = _ACTIONS.get(intent.name)
    return action(ctx, intent.number) if action else None


def handle_pending_confirmation(ctx: HandlerContext) -> Result | None:
    """A reset asked for confirmation; the next message confirms it or the request lapses."""
    if ctx.progress.pending != CONFIRM_RESET:
        return None
    ctx.progress.pending = None
    intent = ctx.intent
    if intent and intent.name in ("confirm", "reset"):
        return _do_reset(ctx)
    if intent and intent.name == "cancel":
        return Result(Reply("reset_cancelled", views.base(ctx)))
    return None  # anything else: the reset lapses and the message is handled normally


def _help(ctx: HandlerContext, _n: int | None) -> Result:
    return Result(Reply("help", views.base(ctx), views.step_buttons(ctx)))


def _start(ctx: HandlerContext, _n: int | None) -> Result:
    progress = ctx.progress
    if progress.step == FINISHED:
        return Result(Reply("all_done", views.base(ctx)))
    if progress.step != NOT_STARTED:
        return Result(Reply("step", views.base(ctx, resumed=True), views.step_buttons(ctx)))
    progress.move_to(1, ctx.now)
    before = [t.in_(ctx.lang) for t in ctx.guide.before_start]
    return Result(
        Reply("started", views.base(ctx, before_start=before), views.step_buttons(ctx)),
        [Event("started", {"step": 1})],
    )


def _status(ctx: HandlerContext, _n: int | None) -> Result:
    return Result(Reply("status", views.base(ctx), views.step_buttons(ctx)))


def _goto(ctx: HandlerContext, number: int | None) -> Result:
    if number is None or not 1 <= number <= STEP_COUNT:
        return Result(Reply("bad_step", views.base(ctx)))
    ctx.progress.move_to(number, ctx.now)
    return Result(Reply("step", views.base(ctx), views.step_buttons(ctx)), [Event("step_changed", {"step": number})])


def _back(ctx: HandlerContext, _n: int | None) -> Result:
    progress = ctx.progress
    if progress.step == NOT_STARTED:
        return _start(ctx, None)
    target = STEP_COUNT if progress.step == FINISHED else max(1, progress.step - 1)
    return _goto(ctx, target)


def _done(ctx: HandlerContext, _n: int | None) -> Result:
    """The user says the current step is done: advance (step 3 waits for certification)."""
    progress = ctx.progress
    if progress.step == NOT_STARTED:
        return _start(ctx, None)
    if progress.step == FINISHED:
        return Result(Reply("all_done", views.base(ctx)))
    if progress.step == CERT_STEP and progress.cert.state != CERT_PASSED:
        if progress.cert.state == CERT_PENDING:
            return Result(Reply("cert_pending", views.base(ctx)))
        return certification.submitted(ctx)
    return complete_current_step(ctx)


def complete_current_step(ctx: HandlerContext, events: list[Event] | None = None) -> Result:
    """Mark the current step done and move on; shared with certification (step 3 passed)."""
    progress = ctx.progress
    finished_step = progress.step
    title = ctx.guide.step(finished_step).title.in_(ctx.lang)
    progress.complete_step(finished_step)
    progress.checked[str(finished_step)] = list(range(1, len(ctx.guide.step(finished_step).items) + 1))
    events = [*(events or []), Event("step_completed", {"step": finished_step})]
    if finished_step == STEP_COUNT:
        progress.move_to(FINISHED, ctx.now)
        events.append(Event("all_done", {}))
        return Result(Reply("all_done", views.base(ctx, just_finished=True)), events)
    progress.move_to(finished_step + 1, ctx.now)
    context = views.base(ctx, finished_step=finished_step, finished_title=title)
    return Result(Reply("step_done", context, views.step_buttons(ctx)), events)


def _check(ctx: HandlerContext, number: int | None, tick: bool = True) -> Result:
    progress = ctx.progress
    if progress.step in (NOT_STARTED, FINISHED):
        return _status(ctx, None)
    count = len(ctx.guide.step(progress.step).items)
    if number is None or not 1 <= number <= count:
        return Result(Reply("bad_item", views.base(ctx, item_count=count)))
    items = set(progress.checked_items(progress.step))
    items.add(number) if tick else items.discard(number)
    progress.checked[str(progress.step)] = sorted(items)
    all_ticked = len(items) == count
    context = views.base(ctx, item=number, ticked=tick, all_ticked=all_ticked)
    return Result(Reply("checked", context, views.step_buttons(ctx)), [Event("item_checked", {"item": number})])


def _uncheck(ctx: HandlerContext, number: int | None) -> Result:
    return _check(ctx, number, tick=False)


def _reset(ctx: HandlerContext, _n: int | None) -> Result:
    if ctx.progress.step == NOT_STARTED:
        return _start(ctx, None)
    ctx.progress.pending = CONFIRM_RESET
    return Result(Reply("reset_confirm", views.base(ctx)))


def _do_reset(ctx: HandlerContext) -> Result:
    _replace_progress(ctx, ctx.progress.reset(ctx.now))
    return Result(Reply("reset_done", views.base(ctx)), [Event("reset", {})])


def _replace_progress(ctx: HandlerContext, fresh: Progress) -> None:
    """Handlers change progress in place; the pipeline holds the same object and saves it."""
    ctx.progress.__dict__.update(fresh.__dict__)


def _human(ctx: HandlerContext, _n: int | None) -> Result:
    return handoff.request(ctx)


_ACTIONS = {
    "human": _human,
    "help": _help,
    "start": _start,
    "status": _status,
    "next": _done,
    "done": _done,
    "back": _back,
    "goto": _goto,
    "check": _check,
    "uncheck": _uncheck,
    "reset": _reset,
}
