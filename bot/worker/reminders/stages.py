"""The stage policy: when each reminder stage is due, and what it sends when it comes.

Certification: a first check ``CERT_CHECK_DELAY`` after submitting, follow-ups ``CERT_FOLLOWUPS``
after that check, then (``CERT_ESCALATE_DELAY`` later) a notice to support staff. Idle: nudges
``IDLE_NUDGES`` after the last activity. Nothing reaches a user in quiet hours, or while a person
has the conversation. Each stage returns an ``Outcome``: the messages and the token of the next
stage (None: the chain is over). Tokens are what the job re-checks when it fires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from bot.core import handoff_state, handoffs
from bot.core.progress import CERT_PENDING, STEP_COUNT, Progress
from bot.outbound.elapsed import ELAPSED_MINUTES
from bot.outbound.entry import OutboxMessage
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.outgoing import staff_message, user_message


@dataclass
class Outcome:
    messages: list[OutboxMessage] = field(default_factory=list)
    next_token: dict[str, Any] | None = None
    why: str = "sent"


# -- time ---------------------------------------------------------------------------------------------
def after_quiet_hours(ts: float, quiet: tuple[dtime, dtime] | None, tz: ZoneInfo) -> float:
    """``ts`` itself, or the end of the quiet period it falls in (nobody is nudged at night)."""
    if quiet is None:
        return ts
    start, end = quiet
    local = datetime.fromtimestamp(ts, tz)
    now = local.time()
    if start < end:
        if not start <= now < end:
            return ts
        day = local.date()
    else:  # wraps midnight, e.g. 22:00-08:30
        if end <= now < start:
            return ts
        day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).timestamp()


def first_check(config: ReminderConfig, since: float) -> dict[str, Any]:
    """When the first "how did certification go?" goes out, as the user is told on submitting.

    ``postponed_to``: the local time it moves to when the delay ends inside quiet hours.
    """
    planned = since + config.cert_check_delay
    at = after_quiet_hours(planned, config.quiet, config.tz)
    postponed = datetime.fromtimestamp(at, config.tz).strftime("%H:%M") if at > planned else None
    return {"at": at, "minutes": max(1, round((at - since) / 60)), "postponed_to": postponed}


def next_due(origin: float, offsets: list[float] | tuple[float, ...], stage: int, now: float) -> float:
    """When stage+1 is due: on the plan, but never closer to this (perhaps postponed) run than planned.

    Without the floor, a follow-up postponed past quiet hours would be followed at once by the next.
    """
    return max(origin + offsets[stage + 1], now + offsets[stage + 1] - offsets[stage])


# -- the first stage of each chain ----------------------------------------------------------------------
def cert_start(config: ReminderConfig, since: float, attempt: int) -> dict[str, Any]:
    """The token of the first certification check for a submission at ``since``."""
    base = since + config.cert_check_delay
    return {"since": since, "attempt": attempt, "stage": 0, "base": base,
            "due": after_quiet_hours(base, config.quiet, config.tz)}


def cert_resume(config: ReminderConfig, since: float, attempt: int, now: float,
                previous: dict[str, Any]) -> dict[str, Any]:
    """The token of the last follow-up, due one check delay from ``now``: what unmuting a user whose
    certification is still pending brings back (the staff notice, if any, follows it as planned)."""
    stage = len(config.cert_followups)
    offsets = [0.0, *config.cert_followups]
    due = after_quiet_hours(now + config.cert_check_delay, config.quiet, config.tz)
    return {"since": since, "attempt": attempt, "stage": stage, "base": due - offsets[stage], "due": due,
            "sent": int(previous.get("sent", 0))}


def idle_start(config: ReminderConfig, step: int, last: float) -> dict[str, Any] | None:
    """The token of the first nudge after activity at ``last`` on ``step``; None: no nudges."""
    nudges = config.idle_nudges
    if not 1 <= step <= STEP_COUNT or not nudges:
        return None
    due = after_quiet_hours(last + nudges[0], config.quiet, config.tz)
    return {"step": step, "at": last, "stage": 0, "due": due}


# -- what a due stage does ----------------------------------------------------------------------------
def cert_stage(ctx: ReminderContext, progress: Progress | None, token: dict[str, Any], now: float,
               base_id: str) -> Outcome:
    """A certification reminder is due: check, follow up, or tell staff it is stuck."""
    cfg = ctx.config
    if (progress is None or progress.cert.state != CERT_PENDING or progress.cert.since != token["since"]
            or progress.cert.attempts != token["attempt"]):
        return Outcome(why="stale: certification answered or restarted")
    stage = int(token["stage"])
    later = after_quiet_hours(now, cfg.quiet, cfg.tz)  # every reminder, the first check too, waits for the day
    if later > now:
        return Outcome(next_token={**token, "due": later}, why="quiet hours: postponed")
    with_person = handoff_state.expires_at(progress, handoffs.timeout_from(ctx.settings))
    if with_person is not None and with_person > now:
        return Outcome(next_token={**token, "due": with_person}, why="with a person: postponed")
    followups = cfg.cert_followups
    minutes = int((now - token["since"]) // 60)  # == progress.cert.since, checked above
    sent = int(token.get("sent", 0))  # reminders the user actually got: the escalation says so
    if stage <= len(followups):
        messages = []
        if not progress.muted:
            template = "reminder_cert_check" if stage == 0 else "reminder_cert_followup"
            context = {"attempt": progress.cert.attempts, "minutes": minutes, "stage": stage,
                       "elapsed": ELAPSED_MINUTES, "last": stage == len(followups)}
            reminder = user_message(ctx, progress, template, context, base_id)
            reminder.meta["elapsed_from"] = token["since"]  # the sender writes the minutes as of sending
            messages.append(reminder)
        offsets = [0.0, *followups]  # of each user-facing stage from the first check
        if cfg.cert_escalate_delay >= 0:
            offsets.append(offsets[-1] + cfg.cert_escalate_delay)
        if stage + 1 >= len(offsets):
            return Outcome(messages, None)
        due = next_due(token["base"], offsets, stage, now)
        nxt = {**token, "stage": stage + 1, "due": after_quiet_hours(due, cfg.quiet, cfg.tz),
               "sent": sent + len(messages)}
        return Outcome(messages, nxt, "sent" if messages else "muted: nothing to the user")
    stuck: dict[str, Any] = {"user": progress.user_id, "mention": None if progress.muted else progress.user_id,
                             "staff": list(ctx.settings.support_staff), "minutes": minutes,
                             "attempt": progress.cert.attempts, "reminders_sent": sent, "muted": progress.muted}
    message = staff_message(ctx, progress, "notice_cert_stuck", stuck, base_id)
    return Outcome([message] if message else [], None, "sent" if message else "no channel to reach staff")


def idle_stage(ctx: ReminderContext, progress: Progress | None, token: dict[str, Any], now: float,
               base_id: str) -> Outcome:
    """An idle nudge is due: point the user at the first unticked item of their step."""
    cfg = ctx.config
    if progress is None or not progress.started or progress.finished:
        return Outcome(why="stale: not started or finished")
    if progress.step != token["step"] or progress.last_seen > token["at"]:
        return Outcome(why="stale: active since")
    if progress.muted:
        return Outcome(why="muted")
    if progress.cert.state == CERT_PENDING:
        return Outcome(why="certification pending: the certification reminders speak")
    if handoff_state.is_active(progress, now, handoffs.timeout_from(ctx.settings)):
        return Outcome(why="with a person: no nudge")
    later = after_quiet_hours(now, cfg.quiet, cfg.tz)
    if later > now:
        return Outcome(next_token={**token, "due": later}, why="quiet hours: postponed")
    stage = int(token["stage"])
    step = ctx.guide.step(progress.step)
    ticked = set(progress.checked_items(progress.step))
    item = next(({"n": i, "text": t.in_(progress.lang)} for i, t in enumerate(step.items, 1) if i not in ticked),
                None)
    context = {"step": {"number": step.number, "title": step.title.in_(progress.lang)}, "item": item,
               "stage": stage, "days": max(1, int((now - token["at"]) // 86400))}
    message = user_message(ctx, progress, "reminder_idle", context, base_id)
    nxt = None
    if stage + 1 < len(cfg.idle_nudges):
        due = next_due(token["at"], cfg.idle_nudges, stage, now)
        nxt = {**token, "stage": stage + 1, "due": after_quiet_hours(due, cfg.quiet, cfg.tz)}
    return Outcome([message], nxt)


# -- a hand-off nobody resolved ----------------------------------------------------------------------------
def handoff_start(progress: Progress, timeout: float) -> dict[str, Any] | None:
    """The token of the "nobody answered in time" notice for the user's open hand-off (None: none open)."""
    expiry = handoff_state.expires_at(progress, timeout)
    if expiry is None:
        return None
    handoff = progress.handoff
    return {"since": float(handoff["since"]), "claimed_at": handoff.get("claimed_at"), "due": expiry}


def handoff_stage(ctx: ReminderContext, progress: Progress | None, token: dict[str, Any], now: float,
                  base_id: str) -> Outcome:
    """The hand-off timed out without staff resolving it: the user hears the bot answers again."""
    if progress is None or not handoff_state.is_open(progress):
        return Outcome(why="stale: resolved")
    handoff = progress.handoff
    if float(handoff["since"]) != token["since"] or handoff.get("claimed_at") != token.get("claimed_at"):
        return Outcome(why="stale: asked again or claimed since")
    timeout = handoffs.timeout_from(ctx.settings)
    expiry = handoff_state.expires_at(progress, timeout) or now
    if now < expiry:
        return Outcome(next_token={**token, "due": expiry}, why="not yet timed out")
    later = after_quiet_hours(now, ctx.config.quiet, ctx.config.tz)
    if later > now:
        return Outcome(next_token={**token, "due": later}, why="quiet hours: postponed")
    context = {"hours": max(1, round((now - token["since"]) / 3600)), "claimed": bool(handoff.get("claimed_by"))}
    return Outcome([user_message(ctx, progress, "handoff_timeout", context, base_id)], None)
