"""Step 3's certification: submitted → pending (~10 min) → passed (step 4) or failed (checklist)."""

from __future__ import annotations

from bot.core.messages import Button, Event, Reply, Result
from bot.core.progress import CERT_FAILED, CERT_PASSED, CERT_PENDING, CERT_STEP
from handlers import views
from handlers.context import HandlerContext
from handlers.progression import complete_before, complete_current_step, earlier_steps


def handle(ctx: HandlerContext) -> Result | None:
    intent = ctx.reading.intent
    if intent == "cert_submitted":
        return submitted(ctx)
    if intent == "cert_passed":
        return passed(ctx)
    if intent == "cert_failed":
        return failed(ctx)
    return None


def _on_cert_step(ctx: HandlerContext) -> tuple[bool, list[Event]]:
    """Certification talk from a user not on step 3 yet (confirmed by them: the understanding step
    asks first) ticks off the steps before it, so the funnel stays consistent."""
    if ctx.progress.step > CERT_STEP:
        return False, []
    if ctx.progress.step == CERT_STEP:
        return True, []  # on step 3 already: earlier steps still open are asked about when it completes
    return True, complete_before(ctx, CERT_STEP)


def submitted(ctx: HandlerContext) -> Result:
    progress = ctx.progress
    on_step, events = _on_cert_step(ctx)
    if not on_step:
        return Result(Reply("cert_already_done", views.base(ctx)))
    if progress.cert.state == CERT_PENDING:
        return Result(Reply("cert_pending", views.base(ctx)), events)
    progress.cert.state = CERT_PENDING
    progress.cert.since = ctx.now
    progress.cert.attempts += 1
    checked = set(progress.checked_items(CERT_STEP)) | {1, 2}
    progress.checked[str(CERT_STEP)] = sorted(checked)
    return Result(
        Reply("cert_submitted", views.base(ctx), [Button("cert_passed"), Button("cert_failed")]),
        [*events, Event("cert_submitted", {"attempt": progress.cert.attempts})],
    )


def passed(ctx: HandlerContext) -> Result:
    progress = ctx.progress
    on_step, events = _on_cert_step(ctx)
    if not on_step:
        return Result(Reply("cert_already_done", views.base(ctx)))
    asked, caught_up = earlier_steps(ctx)  # before the certification is recorded, not after
    if asked is not None:
        return Result(asked.reply, [*events, *asked.events])
    progress.cert.state = CERT_PASSED
    progress.cert.since = ctx.now
    result = complete_current_step(ctx, [*events, *caught_up, Event("cert_passed", {})])
    result.reply.context["cert_just_passed"] = True
    return result


def failed(ctx: HandlerContext) -> Result:
    progress = ctx.progress
    on_step, events = _on_cert_step(ctx)
    if not on_step:
        return Result(Reply("cert_already_done", views.base(ctx)))
    progress.cert.state = CERT_FAILED
    progress.cert.since = ctx.now
    checklist = [t.in_(ctx.lang) for t in ctx.guide.cert_failure_checklist]
    return Result(
        Reply("cert_failed", views.base(ctx, checklist=checklist), [Button("cert_submitted"), Button("human")]),
        [*events, Event("cert_failed", {"attempt": progress.cert.attempts})],
    )
