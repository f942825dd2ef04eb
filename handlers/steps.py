"""The six steps: start, status, next/back, jump to a step, tick checklist items, done, reset.

The replies show the state the changes lead to (``ctx.after``); the changes are applied by the dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.messages import Reply, Result
from bot.core.progress import CERT_PASSED, CERT_PENDING, CERT_STEP, FINISHED, NOT_STARTED, STEP_COUNT
from bot.core.progress_reducer import (
    Asked,
    Change,
    ItemsChecked,
    ItemsUnchecked,
    MovedTo,
    OpenItemsAsked,
    Reset,
    Started,
)
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
    changes: list[Change] = [Started(1)]
    after = ctx.after(changes)
    before = [t.in_(ctx.lang) for t in ctx.guide.before_start]
    return Result(Reply("started", views.base(after, before_start=before), views.step_buttons(after)), changes)


def _status(ctx: HandlerContext) -> Result:
    reading = ctx.reading
    context = views.base(ctx, already_done=reading.step if reading.kind == "already_done" else None,
                         cert_already_done=reading.kind == "cert_already_done")
    return Result(Reply("status", context, views.step_buttons(ctx)))


def _goto(ctx: HandlerContext) -> Result:
    number = ctx.reading.step
    if number is None or not 1 <= number <= STEP_COUNT:
        return Result(Reply("bad_step", views.base(ctx)))
    changes: list[Change] = []
    if ctx.reading.kind == "done_before":
        # "第一步的东西我之前都弄完了，直接跳到第二步": the steps before were done elsewhere
        changes = complete_before(ctx, number)
    changes.append(MovedTo(number))
    after = ctx.after(changes)
    return Result(Reply("step", views.base(after), views.step_buttons(after)), changes)


def _back(ctx: HandlerContext) -> Result:
    progress = ctx.progress
    if progress.step == NOT_STARTED:
        return _start(ctx)
    target = STEP_COUNT if progress.step == FINISHED else max(1, progress.step - 1)
    changes: list[Change] = [MovedTo(target)]
    after = ctx.after(changes)
    return Result(Reply("step", views.base(after), views.step_buttons(after)), changes)


def _done(ctx: HandlerContext) -> Result:
    """The current step is done: advance (step 3 waits for certification). A confirmed "第4步完成了"
    from step 2 ticks off the steps in between first."""
    progress = ctx.progress
    if progress.step == NOT_STARTED:
        return _start(ctx)
    if progress.step == FINISHED:
        return Result(Reply("all_done", views.base(ctx)))
    target = ctx.reading.step
    changes: list[Change] = []
    if target is not None and target > progress.step and ctx.reading.source == "pending":
        changes = complete_before(ctx, min(target, STEP_COUNT))
    if not changes and (progress.step != CERT_STEP or progress.cert.state == CERT_PASSED):
        earlier, changes = earlier_steps(ctx)  # steps before still open: asked about before anything else
        if earlier is not None:
            return earlier
    if changes == [] and (asked := _ask_about_open_items(ctx)) is not None:
        return asked
    ctx = ctx.after(changes)
    progress = ctx.progress
    if progress.step == CERT_STEP and progress.cert.state != CERT_PASSED:
        if progress.cert.state == CERT_PENDING:
            return Result(Reply("cert_pending", views.base(ctx)), changes)
        result = certification.submitted(ctx)
        return Result(result.reply, [*changes, *result.changes])
    return complete_current_step(ctx, changes)


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
    proposal: dict[str, Any] = {"intent": "done", "step": None, "items": [], "kind": "open_items",
                                "asked_by": ctx.reading.intent}
    return Result(Reply("done_open_items", views.base(ctx, open_items=open_items[:3], open_count=len(open_items))),
                  [OpenItemsAsked(progress.step), Asked(CONFIRM_READING, proposal)])


def _check(ctx: HandlerContext, tick: bool = True) -> Result:
    progress = ctx.progress
    if progress.step in (NOT_STARTED, FINISHED):
        return _status(ctx)
    count = len(ctx.guide.step(progress.step).items)
    wanted = ctx.reading.items
    if not wanted or not all(1 <= n <= count for n in wanted):
        return Result(views.bad_item(ctx))
    change = ItemsChecked if tick else ItemsUnchecked  # a correction ("不是3，是4") unticks first
    changes: list[Change] = [change(progress.step, tuple(wanted), tuple(ctx.reading.uncheck))]
    after = ctx.after(changes)
    all_ticked = len(after.progress.checked_items(progress.step)) == count
    context = views.base(after, item="、".join(str(n) for n in wanted), items=list(wanted), ticked=tick,
                         all_ticked=all_ticked)
    context["unticked"] = list(ctx.reading.uncheck)
    return Result(Reply("checked", context, views.step_buttons(after)), changes)


def _uncheck(ctx: HandlerContext) -> Result:
    return _check(ctx, tick=False)


def _reset(ctx: HandlerContext) -> Result:
    if ctx.progress.step == NOT_STARTED:
        return _start(ctx)
    return Result(Reply("reset_confirm", views.base(ctx)), [Asked(CONFIRM_RESET)])


def _do_reset(ctx: HandlerContext) -> Result:
    changes: list[Change] = [Reset()]
    return Result(Reply("reset_done", views.base(ctx.after(changes))), changes)


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
