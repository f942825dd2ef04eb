"""Reminder jobs in APScheduler's job store: schedule, cancel, and run one when it fires.

One job per user and kind (``job_id``), replaced by each newer plan. The job function is referred
to by name (``JOB_FUNC``): jobs are pickled into Redis without state, so the running leader
``install``s the context they use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler

from bot.core.progress import Progress
from bot.infra.metrics import count_event
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.outgoing import digest, queue_once
from bot.worker.reminders.stages import Outcome, cert_stage, handoff_stage, idle_stage
from bot.worker.scheduler import RetryingDateTrigger, at

log = logging.getLogger(__name__)

CERT = "cert"
IDLE = "idle"
HANDOFF = "handoff"  # tells the user when a hand-off times out unresolved
JOB_FUNC = "bot.worker.reminders.jobs:fire"
STAGES: dict[str, Callable[[ReminderContext, Progress | None, dict[str, Any], float, str], Outcome]] = {
    CERT: cert_stage, IDLE: idle_stage, HANDOFF: handoff_stage}
KINDS = tuple(STAGES)  # every kind of reminder job, the one list (the operator view lists the scheduled ones)

_context: ReminderContext | None = None


def install(ctx: ReminderContext | None) -> None:
    """Make ``ctx`` the one the job functions use (jobs are pickled by reference, not with state)."""
    global _context
    _context = ctx


def job_id(kind: str, user_key: str) -> str:
    return f"{kind}:{user_key}"


def schedule(ctx: ReminderContext, kind: str, user_key: str, token: dict[str, Any]) -> None:
    """Add or replace the user's job of this kind, due at ``token['due']``.

    A plan already later than the grace (an old event in a backlog) is not worth a job.
    """
    jid = job_id(kind, user_key)
    if token["due"] < ctx.clock() - ctx.config.grace:
        log.info("not scheduling %s: due %.0f s ago", jid, ctx.clock() - token["due"])
        return
    trigger = RetryingDateTrigger(at(token["due"]), retry=ctx.config.retry, give_up=ctx.config.grace)
    with ctx.lock:
        _scheduler(ctx).add_job(JOB_FUNC, trigger=trigger, id=jid, name=f"{kind} reminder",
                              args=[jid, user_key, kind, token], replace_existing=True,
                              misfire_grace_time=int(ctx.config.grace), coalesce=True, max_instances=1)
    count_event(ctx.redis, "reminder_scheduled")


def cancel(ctx: ReminderContext, kind: str, user_key: str) -> None:
    with ctx.lock, suppress(JobLookupError):
        _scheduler(ctx).remove_job(job_id(kind, user_key))


def _scheduler(ctx: ReminderContext) -> BaseScheduler:
    if ctx.scheduler is None:
        raise RuntimeError("planning reminders needs the leader's scheduler (ReminderContext.scheduler)")
    return ctx.scheduler


def fire(jid: str, user_key: str, kind: str, token: dict[str, Any]) -> None:
    """The APScheduler job function (referenced as ``JOB_FUNC``)."""
    ctx = _context
    if ctx is None:
        raise RuntimeError("reminder job ran without a context (bot.worker.reminders.jobs.install)")
    if not ctx.leading():
        log.warning("not leading any more: leaving %s for the leader", jid)
        return
    run_job(ctx, jid, user_key, kind, token)


def run_job(ctx: ReminderContext, jid: str, user_key: str, kind: str, token: dict[str, Any]) -> Outcome:
    now = ctx.clock()
    progress = ctx.store.load(user_key)
    base_id = "rem-" + digest(jid, {k: v for k, v in token.items() if k != "due"})
    outcome = STAGES[kind](ctx, progress, token, now, base_id)
    if outcome.messages and queue_once(ctx, base_id, outcome.messages):
        log.info("reminder %s stage %s queued (%s s late)", jid, token.get("stage"), round(now - token["due"], 1))
        if ctx.on_fired:
            ctx.on_fired(kind, token["due"], ctx.clock())
    elif outcome.why != "sent":
        log.info("reminder %s: %s", jid, outcome.why)
    finish(ctx, jid, user_key, kind, token, outcome.next_token)
    return outcome


def finish(ctx: ReminderContext, jid: str, user_key: str, kind: str, token: dict[str, Any],
           next_token: dict[str, Any] | None) -> None:
    """Replace this job with its next stage or remove it — only if it is still the planned one."""
    if ctx.scheduler is None or not ctx.leading():
        return
    with ctx.lock:
        job = ctx.scheduler.get_job(jid)
        if job is None or list(job.args)[3:4] != [token]:
            return  # cancelled or re-planned meanwhile: the newer plan stands
        if next_token is not None:
            schedule(ctx, kind, user_key, next_token)
        else:
            with suppress(JobLookupError):
                ctx.scheduler.remove_job(jid)
