"""Step 3's certification: submitted → pending (~10 min) → passed (step 4) or failed (checklist)."""

from __future__ import annotations

from bot.core.messages import Button, Reply, Result
from bot.core.progress import CERT_PENDING, CERT_STEP
from bot.core.progress_reducer import CertFailed, CertPassed, CertSubmitted, Change
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


def _on_cert_step(ctx: HandlerContext) -> tuple[bool, list[Change]]:
    """Certification talk from a user not on step 3 yet (confirmed by them: the understanding step
    asks first) ticks off the steps before it, so the funnel stays consistent."""
    if ctx.progress.step > CERT_STEP:
        return False, []
    if ctx.progress.step == CERT_STEP:
        return True, []  # on step 3 already: earlier steps still open are asked about when it completes
    return True, complete_before(ctx, CERT_STEP)


def submitted(ctx: HandlerContext) -> Result:
    on_step, changes = _on_cert_step(ctx)
    if not on_step:
        return Result(Reply("cert_already_done", views.base(ctx)))
    ctx = ctx.after(changes)
    if ctx.progress.cert.state == CERT_PENDING:
        return Result(Reply("cert_pending", views.base(ctx)), changes)
    after = ctx.after([CertSubmitted()])
    return Result(Reply("cert_submitted", views.base(after), [Button("cert_passed"), Button("cert_failed")]),
                  [*changes, CertSubmitted()])


def passed(ctx: HandlerContext) -> Result:
    on_step, changes = _on_cert_step(ctx)
    if not on_step:
        return Result(Reply("cert_already_done", views.base(ctx)))
    ctx = ctx.after(changes)
    asked, caught_up = earlier_steps(ctx)  # before the certification is recorded, not after
    if asked is not None:
        return Result(asked.reply, [*changes, *asked.changes])
    passing = [*caught_up, CertPassed()]
    result = complete_current_step(ctx.after(passing), [*changes, *passing])
    result.reply.context["cert_just_passed"] = True
    return result


def failed(ctx: HandlerContext) -> Result:
    on_step, changes = _on_cert_step(ctx)
    if not on_step:
        return Result(Reply("cert_already_done", views.base(ctx)))
    changes = [*changes, CertFailed()]
    checklist = [t.in_(ctx.lang) for t in ctx.guide.cert_failure_checklist]
    return Result(
        Reply("cert_failed", views.base(ctx.after(changes), checklist=checklist),
              [Button("cert_submitted"), Button("human")]),
        changes,
    )
