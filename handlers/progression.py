"""Moving through the six steps: how a step is completed (steps and certification share it).

What is decided here: earlier steps still open are asked about before the current one is completed,
or — when the user said they were done elsewhere — completed first, in order, as ``caught_up``. The
invariant itself (no step done while an earlier one is open, each completion recorded once) is
enforced where the changes are applied, bot.core.progress_reducer; going back and forward again records
nothing new there.

Each function takes a context that already shows the changes made before it (``HandlerContext.after``)
and returns the changes it adds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.messages import Reply, Result
from bot.core.progress import CERT_PASSED, CERT_STEP, FINISHED, NOT_STARTED, STEP_COUNT, Progress
from bot.core.progress_reducer import (
    Asked,
    CertPassed,
    Change,
    Finished,
    MovedOn,
    Started,
    StepCompleted,
)
from handlers import views
from handlers.clarify import CONFIRM_READING
from handlers.context import HandlerContext

EARLIER_OPEN = "earlier_open"  # the kind of the question "第1、2步也在别处做完了吗？"


def open_before(progress: Progress, step: int) -> list[int]:
    """Steps before ``step`` not done yet."""
    return [n for n in range(1, min(step, STEP_COUNT + 1)) if n not in progress.completed]


def earlier_steps(ctx: HandlerContext) -> tuple[Result | None, list[Change]]:
    """Before the current step is completed: earlier steps still open are asked about, or — when the
    user confirmed they were done elsewhere — ticked off first. (question, catch-up changes)."""
    progress = ctx.progress
    if progress.step in (NOT_STARTED, FINISHED):
        return None, []
    missing = open_before(progress, progress.step)
    if not missing:
        return None, []
    reading = ctx.reading
    if reading.kind == EARLIER_OPEN and reading.source == "pending":
        return None, complete_before(ctx, progress.step)
    proposal: dict[str, Any] = {"intent": reading.intent if reading.intent != "next" else "done", "step": None,
                "items": [], "kind": EARLIER_OPEN, "asked_by": ""}
    context = views.base(ctx, kind=EARLIER_OPEN, open_steps=missing, proposal=proposal,
                         target_step=progress.step)
    return Result(Reply("clarify", context), [Asked(CONFIRM_READING, proposal)]), []


def complete_current_step(ctx: HandlerContext, prior: Sequence[Change] = ()) -> Result:
    """Mark the current step done and move on (after asking about earlier steps still open).
    ``ctx`` shows ``prior`` applied already."""
    asked, caught_up = earlier_steps(ctx)
    if asked is not None:
        return Result(asked.reply, [*prior, *asked.changes])
    finished_step = ctx.progress.step
    title = ctx.guide.step(finished_step).title.in_(ctx.lang)
    done = [*caught_up, _completed(ctx, finished_step)]
    if finished_step == STEP_COUNT:
        done.append(Finished())
        return Result(Reply("all_done", views.base(ctx.after(done), just_finished=True)), [*prior, *done])
    done.append(MovedOn(finished_step + 1))
    after = ctx.after(done)
    context = views.base(after, finished_step=finished_step, finished_title=title)
    return Result(Reply("step_done", context, views.step_buttons(after)), [*prior, *done])


def complete_before(ctx: HandlerContext, step: int) -> list[Change]:
    """The user confirmed they did the steps before ``step`` on their own: tick off every one still
    open, in order, so the funnel never shows a later step done and an earlier one open."""
    progress = ctx.progress
    changes: list[Change] = []
    if progress.step == NOT_STARTED:
        changes.append(Started(step))
    for number in open_before(progress, step):
        if number == CERT_STEP and progress.cert.state != CERT_PASSED:
            changes.append(CertPassed())
        changes.append(_completed(ctx, number, caught_up=True))
    if NOT_STARTED < progress.step < step:
        changes.append(MovedOn(step))
    return changes


def _completed(ctx: HandlerContext, number: int, caught_up: bool = False) -> StepCompleted:
    return StepCompleted(number, len(ctx.guide.step(number).items), caught_up=caught_up)
