"""The six steps: start, status, next/back, jump to a step, tick checklist items, done, reset."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.messages import Event, Reply, Result
from bot.core.progress import CERT_PASSED, CERT_PENDING, CERT_STEP, FINISHED, NOT_STARTED, STEP_COUNT, Progress
from handlers import certification, handoff, views
from handlers.clarify import CONFIRM_READING
from handlers.context import HandlerContext
from handlers.progression import complete_before, complete_current_step, earlier_steps

CONFIRM_RESET = "confirm_reset"


def handle(ctx: HandlerContext) -> Result | None:
    action = _ACTIONS.get(ctx.reading.intent)
    return action(ctx) if action else None


def handle_pending_confirmation(ctx: HandlerContext) -> Result | None:
    """A reset asked for confirmation; the next message confirms it or the request lapses."""
    if ctx.pending != CONFIRM_RESET:
        return None
    if ctx.is_("confirm", "reset"):
        return _do_reset(ctx)
    if ctx.is_("cancel"):
        return Result(Reply("reset_cancelled", views.base(ctx)))
    return None  # anything else: the reset lapses and the message is handled normally


def _help(ctx: HandlerContext) -> Result:
    return Result(Reply("help", views.base(ctx), views.step_buttons(ctx)))


def _start(ctx: HandlerContext) -> Result:
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


def _status(ctx: HandlerContext) -> Result:
    reading = ctx.reading
    context = views.base(ctx, already_done=reading.step if reading.kind == "already_done" else None,
                         cert_already_done=reading.kind == "cert_already_done")
    return Result(Reply("status", context, views.step_buttons(ctx)))


def _goto(ctx: HandlerContext) -> Result:
    number = ctx.reading.step
    if number is None or not 1 <= number <= STEP_COUNT:
        return Result(Reply("bad_step", views.base(ctx)))
    events: list[Event] = []
    if ctx.reading.kind == "done_before":
        # "第一步的东西我之前都弄完了，直接跳到第二步": the steps before were done elsewhere
        events = complete_before(ctx, number)
    ctx.progress.move_to(number, ctx.now)
    return Result(Reply("step", views.base(ctx), views.step_buttons(ctx)),
                  [*events, Event("step_changed", {"step": number})])


def _back(ctx: HandlerContext) -> Result:
    progress = ctx.progress
    if progress.step == NOT_STARTED:
        return _start(ctx)
    target = STEP_COUNT if progress.step == FINISHED else max(1, progress.step - 1)
    ctx.progress.move_to(target, ctx.now)
    return Result(Reply("step", views.base(ctx), views.step_buttons(ctx)), [Event("step_changed", {"step": target})])


def _done(ctx: HandlerContext) -> Result:
    """The current step is done: advance (step 3 waits for certification). A confirmed "第4步完成了"
    from step 2 ticks off the steps in between first."""
    progress = ctx.progress
    if progress.step == NOT_STARTED:
        return _start(ctx)
    if progress.step == FINISHED:
        return Result(Reply("all_done", views.base(ctx)))
    target = ctx.reading.step
    events: list[Event] = []
    if target is not None and target > progress.step and ctx.reading.source == "pending":
        events = complete_before(ctx, min(target, STEP_COUNT))
    if not events and (progress.step != CERT_STEP or progress.cert.state == CERT_PASSED):
        earlier, events = earlier_steps(ctx)  # steps before still open: asked about before anything else
        if earlier is not None:
            return earlier
    if events == [] and (asked := _ask_about_open_items(ctx)) is not None:
        return asked
    if progress.step == CERT_STEP and progress.cert.state != CERT_PASSED:
        if progress.cert.state == CERT_PENDING:
            return Result(Reply("cert_pending", views.base(ctx)), events)
        result = certification.submitted(ctx)
        return Result(result.reply, [*events, *result.events])
    return complete_current_step(ctx, events)


def _ask_about_open_items(ctx: HandlerContext) -> Result | None:
    """"搞定了" with part of the checklist ticked: say what is still open and ask once (saying it
    again, or 「是」, completes the step). A checklist nobody ticked is not in use: no question."""
    progress = ctx.progress
    if ctx.reading.source in ("pending", "button") or progress.step in (CERT_STEP, progress.open_items_asked):
        return None
    step = views.current_step(ctx)
    items = step["items"] if step else []
    open_items = [item for item in items if not item["done"]]
    if not open_items or len(open_items) == len(items):
        return None
    progress.open_items_asked = progress.step
    progress.pending = CONFIRM_READING
    progress.proposal = {"intent": "done", "step": None, "items": [], "kind": "open_items",
                         "asked_by": ctx.reading.intent}
    return Result(Reply("done_open_items", views.base(ctx, open_items=open_items[:3], open_count=len(open_items))))


def _check(ctx: HandlerContext, tick: bool = True) -> Result:
    progress = ctx.progress
    if progress.step in (NOT_STARTED, FINISHED):
        return _status(ctx)
    count = len(ctx.guide.step(progress.step).items)
    wanted = ctx.reading.items
    if not wanted or not all(1 <= n <= count for n in wanted):
        return Result(views.bad_item(ctx))
    items = set(progress.checked_items(progress.step)) - set(ctx.reading.uncheck)  # a correction unticks first
    items = items | set(wanted) if tick else items - set(wanted)
    progress.checked[str(progress.step)] = sorted(items)
    all_ticked = len(items) == count
    context = views.base(ctx, item="、".join(str(n) for n in wanted), items=list(wanted), ticked=tick,
                         all_ticked=all_ticked)
    context["unticked"] = list(ctx.reading.uncheck)
    return Result(Reply("checked", context, views.step_buttons(ctx)),
                  [Event("item_checked", {"item": n}) for n in wanted])


def _uncheck(ctx: HandlerContext) -> Result:
    return _check(ctx, tick=False)


def _reset(ctx: HandlerContext) -> Result:
    if ctx.progress.step == NOT_STARTED:
        return _start(ctx)
    ctx.progress.pending = CONFIRM_RESET
    return Result(Reply("reset_confirm", views.base(ctx)))


def _do_reset(ctx: HandlerContext) -> Result:
    _replace_progress(ctx, ctx.progress.reset(ctx.now))
    return Result(Reply("reset_done", views.base(ctx)), [Event("reset", {})])


def _replace_progress(ctx: HandlerContext, fresh: Progress) -> None:
    """Handlers change progress in place; the pipeline holds the same object and saves it."""
    ctx.progress.__dict__.update(fresh.__dict__)


def _human(ctx: HandlerContext) -> Result:
    return handoff.request(ctx)


_ACTIONS: dict[str, Callable[[HandlerContext], Result]] = {
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
