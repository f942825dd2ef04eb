"""Reminders: turn domain events into scheduled jobs, and run those jobs (certification, idle, notices).

Planning (``Planner``) happens in the leading worker as it consumes ``wb:events``; each user has at
most one job per kind, with a deterministic id (``cert:<user_key>``, ``idle:<user_key>``) that a
newer plan replaces. A job carries a *token*: what was true when it was planned (the certification
``since``/attempt, the step and time of the last activity). When it fires it re-reads progress and
does nothing when the token no longer matches (the user answered, reset, moved on, muted).

A job is run at least once (see ``bot.scheduler.RetryingDateTrigger``), so running it is
idempotent: its messages get ids derived from job id + token, are queued in one MULTI together with
a "done" marker (WATCHed), and the sender drops a message id it has already delivered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler

from bot import conversation, handoffs
from bot.config import Settings, longconn_settings
from bot.guide import Guide
from bot.keys import REMINDER_DONE_PREFIX
from bot.messages import Event, Reply
from bot.metrics import count_event
from bot.outbound.message import APP, USER, WEBHOOK, OutboxMessage
from bot.outbound.queue import add as outbox_add
from bot.progress import CERT_PENDING, STEP_COUNT, Progress
from bot.render import MARKDOWN, TEXT, Renderer
from bot.scheduler import RetryingDateTrigger, at
from bot.store import Store

log = logging.getLogger(__name__)

CERT = "cert"
IDLE = "idle"
JOB_FUNC = "bot.reminders:fire"
HUMAN_NOTICE_WINDOW = 600  # seconds: staff hear of one user's call for a person at most once per window


# -- configuration ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReminderConfig:
    cert_check_delay: float = 600.0
    cert_followups: tuple[float, ...] = (1800.0, 7200.0)  # after the first check
    cert_escalate_delay: float = 3600.0  # after the last follow-up; < 0 disables the staff notice
    idle_nudges: tuple[float, ...] = (86400.0, 259200.0)  # after the last activity
    quiet: tuple[dtime, dtime] | None = (dtime(22, 0), dtime(8, 30))
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    group_notices: bool = False
    retry: float = 60.0  # a job whose run did not confirm is run again after this
    grace: float = 6 * 3600.0  # misfire grace: later than this, a reminder is dropped
    notice_max_age: float = 3600.0  # group notices for older events (a backlog) are skipped
    done_ttl: float = 8 * 86400.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderConfig:
        group_channel = bool(settings.webhook_key or longconn_settings(settings))  # webhook or long connection
        return cls(
            cert_check_delay=settings.cert_check_delay,
            cert_followups=settings.cert_followups,
            cert_escalate_delay=settings.cert_escalate_delay,
            idle_nudges=settings.idle_nudges,
            quiet=settings.quiet_hours,
            tz=settings.reminder_tz,
            group_notices=settings.group_notices is not False and group_channel,
            retry=settings.reminder_retry,
            grace=settings.reminder_grace,
            notice_max_age=settings.notice_max_age,
        )


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


# -- the shared context of planner and jobs -----------------------------------------------------------
@dataclass
class ReminderContext:
    config: ReminderConfig
    settings: Settings
    store: Store
    renderer: Renderer
    guide: Guide
    scheduler: BaseScheduler | None = None
    clock: Callable[[], float] = time.time
    leading: Callable[[], bool] = lambda: True
    lock: threading.RLock = field(default_factory=threading.RLock)  # planner vs jobs replacing one job id
    on_fired: Callable[[str, float, float], None] | None = None  # (kind, due, fired_at): benchmarks

    @property
    def redis(self) -> redis.Redis:
        return self.store.redis


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
        ctx.scheduler.add_job(JOB_FUNC, trigger=trigger, id=jid, name=f"{kind} reminder",
                              args=[jid, user_key, kind, token], replace_existing=True,
                              misfire_grace_time=int(ctx.config.grace), coalesce=True, max_instances=1)
    count_event(ctx.redis, "reminder_scheduled")


def cancel(ctx: ReminderContext, kind: str, user_key: str) -> None:
    with ctx.lock, suppress(JobLookupError):
        ctx.scheduler.remove_job(job_id(kind, user_key))


# -- planning: events -> jobs ---------------------------------------------------------------------------
class Planner:
    def __init__(self, ctx: ReminderContext) -> None:
        self.ctx = ctx

    def handle(self, user_key: str, event: Event, event_id: str = "", event_time: float | None = None) -> None:
        """Apply one event from ``wb:events``. Idempotent: the stream may deliver it again after a crash."""
        kind = event.kind
        if kind == "activity":
            self._plan_idle(user_key, event.data)
        elif kind == "cert_submitted":
            self._plan_cert(user_key, event.data)
        elif kind in ("cert_passed", "cert_failed"):
            cancel(self.ctx, CERT, user_key)
        elif kind == "reset":
            cancel(self.ctx, CERT, user_key)
            cancel(self.ctx, IDLE, user_key)
        # "mute" needs nothing here: jobs check ``muted`` when they fire (and the "activity" event of
        # the same message re-plans the idle job anyway); staff still hear of a stuck certification.
        elif kind in ("step_completed", "all_done"):
            self._notice(user_key, event, event_id, event_time)
        elif kind in ("human_requested", "faq_escalated"):
            self._call_staff(user_key, event, event_id)

    def _plan_idle(self, user_key: str, data: dict[str, Any]) -> None:
        step, last = int(data.get("step", 0)), float(data.get("at", 0.0))
        nudges = self.ctx.config.idle_nudges
        if not 1 <= step <= STEP_COUNT or not nudges:
            cancel(self.ctx, IDLE, user_key)
            return
        due = after_quiet_hours(last + nudges[0], self.ctx.config.quiet, self.ctx.config.tz)
        schedule(self.ctx, IDLE, user_key, {"step": step, "at": last, "stage": 0, "due": due})

    def _plan_cert(self, user_key: str, data: dict[str, Any]) -> None:
        progress = self.ctx.store.load(user_key)
        if progress is None or progress.cert.state != CERT_PENDING or progress.cert.since is None:
            return  # already answered by the time we read the event
        if progress.cert.attempts != int(data.get("attempt", progress.cert.attempts)):
            return  # an older submission: the newer one has its own event
        base = progress.cert.since + self.ctx.config.cert_check_delay
        cfg = self.ctx.config
        token = {"since": progress.cert.since, "attempt": progress.cert.attempts, "stage": 0, "base": base,
                 "due": after_quiet_hours(base, cfg.quiet, cfg.tz)}
        schedule(self.ctx, CERT, user_key, token)

    def _notice(self, user_key: str, event: Event, event_id: str, event_time: float | None) -> None:
        ctx = self.ctx
        if not ctx.config.group_notices:
            return
        if event_time is not None and time.time() - event_time > ctx.config.notice_max_age:
            log.info("skipping group notice for old event %s", event_id)
            return
        if event.kind == "step_completed" and int(event.data.get("step", 0)) >= STEP_COUNT:
            return  # "all_done" follows in the same commit and says it better
        if event.data.get("caught_up"):
            return  # steps the user did before telling the bot: recorded, not news for the group
        progress = ctx.store.load(user_key)
        if progress is None:
            return
        context: dict[str, Any] = {"user": progress.user_id, "mention": None if progress.muted else progress.user_id}
        if event.kind == "step_completed":
            number = int(event.data.get("step", 0))
            if not 1 <= number <= STEP_COUNT:
                return
            nxt = ctx.guide.step(number + 1) if number < STEP_COUNT else None
            context.update(step=number, title=ctx.guide.step(number).title.in_(progress.lang),
                           next_step=number + 1 if nxt else None,
                           next_title=nxt.title.in_(progress.lang) if nxt else None)
        template = f"notice_{event.kind}"
        text = ctx.renderer.render(Reply(template, context), progress.lang, MARKDOWN)
        message = OutboxMessage(WEBHOOK, text, to_user=progress.user_id, fmt="markdown",
                                id=f"notice-{event_id or _digest(user_key, event.kind, event.data)}-{event.kind}",
                                meta={"kind": template, "user_key": user_key})
        outbox_add(ctx.redis, message)


    def _call_staff(self, user_key: str, event: Event, event_id: str) -> None:
        """The user asked for a person (or the FAQ ran out of answers): tell support staff, once per event.

        Not subject to GROUP_NOTICES or NOTICE_MAX_AGE: the bot told the user staff were notified.
        """
        ctx = self.ctx
        progress = ctx.store.load(user_key)
        if progress is None:
            return
        number = progress.step
        step = ctx.guide.step(number) if 1 <= number <= STEP_COUNT else None
        context = {"user": progress.user_id, "mention": None if progress.muted else progress.user_id,
                   "staff": list(ctx.settings.support_staff), "step": number if step else None,
                   "title": step.title.in_(progress.lang) if step else None, "finished": progress.finished,
                   "faq": event.kind == "faq_escalated", "topic": event.data.get("topic")}
        # Once per user per ten minutes: a user repeating "人工" must not use up the group's 20/min.
        at = int(event_id.split("-")[0]) / 1000 if event_id[:1].isdigit() else ctx.clock()
        message_id = f"notice-human-{user_key}-{int(at // HUMAN_NOTICE_WINDOW)}"
        message = staff_message(ctx, progress, "notice_human", context, message_id)
        if message is None:
            log.warning("%s from %s: no channel to reach staff (no webhook key, no app secret)", event.kind, user_key)
            return
        _commit_once(ctx, message_id, [message])  # the stream may deliver the event again


# -- running a job ------------------------------------------------------------------------------------
@dataclass
class Outcome:
    messages: list[OutboxMessage] = field(default_factory=list)
    next_token: dict[str, Any] | None = None
    why: str = "sent"


def fire(jid: str, user_key: str, kind: str, token: dict[str, Any]) -> None:
    """The APScheduler job function (referenced as ``bot.reminders:fire``)."""
    ctx = _context
    if ctx is None:
        raise RuntimeError("reminder job ran without a context (bot.reminders.install)")
    if not ctx.leading():
        log.warning("not leading any more: leaving %s for the leader", jid)
        return
    run_job(ctx, jid, user_key, kind, token)


def run_job(ctx: ReminderContext, jid: str, user_key: str, kind: str, token: dict[str, Any]) -> Outcome:
    now = ctx.clock()
    progress = ctx.store.load(user_key)
    plan = _PLANS[kind]
    base_id = "rem-" + _digest(jid, {k: v for k, v in token.items() if k != "due"})
    outcome = plan(ctx, progress, token, now, base_id)
    if outcome.messages and _commit_once(ctx, base_id, outcome.messages):
        log.info("reminder %s stage %s queued (%s s late)", jid, token.get("stage"), round(now - token["due"], 1))
        if ctx.on_fired:
            ctx.on_fired(kind, token["due"], ctx.clock())
    elif outcome.why != "sent":
        log.info("reminder %s: %s", jid, outcome.why)
    _finish(ctx, jid, user_key, kind, token, outcome.next_token)
    return outcome


def _commit_once(ctx: ReminderContext, base_id: str, messages: list[OutboxMessage]) -> bool:
    """Queue the messages and the done marker together, unless a previous run already did."""
    done = REMINDER_DONE_PREFIX + base_id
    with ctx.redis.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(done)
            if pipe.exists(done):
                return False
            pipe.multi()
            pipe.set(done, int(ctx.clock()), ex=int(ctx.config.done_ttl))
            for message in messages:
                outbox_add(pipe, message)
                _note_sent(pipe, ctx.clock(), message)
            pipe.execute()
            return True
        except redis.WatchError:
            return False


def _note_sent(pipe, now: float, message: OutboxMessage) -> None:
    """A reminder to the user appears in their conversation (the operator's user page), sent by the bot."""
    user_key = message.meta.get("user_key")
    if not user_key or message.meta.get("audience") == "staff":
        return
    conversation.add(pipe, user_key, conversation.entry(
        at=now, text="", reply=message.meta.get("plain") or message.text, template=str(message.meta.get("kind")),
        reading=None, chat_type="private", by="reminder"))


def _finish(ctx: ReminderContext, jid: str, user_key: str, kind: str, token: dict[str, Any],
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


# -- what each kind does ------------------------------------------------------------------------------
def _plan_cert(ctx: ReminderContext, progress: Progress | None, token: dict[str, Any], now: float,
               base_id: str) -> Outcome:
    cfg = ctx.config
    if (progress is None or progress.cert.state != CERT_PENDING or progress.cert.since != token["since"]
            or progress.cert.attempts != token["attempt"]):
        return Outcome(why="stale: certification answered or restarted")
    stage = int(token["stage"])
    later = after_quiet_hours(now, cfg.quiet, cfg.tz)  # every reminder, the first check too, waits for the day
    if later > now:
        return Outcome(next_token={**token, "due": later}, why="quiet hours: postponed")
    with_person = handoffs.expires_at(progress, handoffs.timeout_from(ctx.settings))
    if with_person is not None and with_person > now:
        return Outcome(next_token={**token, "due": with_person}, why="with a person: postponed")
    followups = cfg.cert_followups
    minutes = int((now - progress.cert.since) // 60)
    sent = int(token.get("sent", 0))  # reminders the user actually got: the escalation says so
    if stage <= len(followups):
        messages = []
        if not progress.muted:
            template = "reminder_cert_check" if stage == 0 else "reminder_cert_followup"
            context = {"attempt": progress.cert.attempts, "minutes": minutes, "stage": stage}
            messages.append(user_message(ctx, progress, template, context, base_id))
        offsets = [0.0, *followups]  # of each user-facing stage from the first check
        if cfg.cert_escalate_delay >= 0:
            offsets.append(offsets[-1] + cfg.cert_escalate_delay)
        if stage + 1 >= len(offsets):
            return Outcome(messages, None)
        due = _next_due(token["base"], offsets, stage, now)
        nxt = {**token, "stage": stage + 1, "due": after_quiet_hours(due, cfg.quiet, cfg.tz),
               "sent": sent + len(messages)}
        return Outcome(messages, nxt, "sent" if messages else "muted: nothing to the user")
    context = {"user": progress.user_id, "mention": None if progress.muted else progress.user_id,
               "staff": list(ctx.settings.support_staff), "minutes": minutes, "attempt": progress.cert.attempts,
               "reminders_sent": sent, "muted": progress.muted}
    message = staff_message(ctx, progress, "notice_cert_stuck", context, base_id)
    return Outcome([message] if message else [], None, "sent" if message else "no channel to reach staff")


def _plan_idle(ctx: ReminderContext, progress: Progress | None, token: dict[str, Any], now: float,
               base_id: str) -> Outcome:
    cfg = ctx.config
    if progress is None or not progress.started or progress.finished:
        return Outcome(why="stale: not started or finished")
    if progress.step != token["step"] or progress.last_seen > token["at"]:
        return Outcome(why="stale: active since")
    if progress.muted:
        return Outcome(why="muted")
    if progress.cert.state == CERT_PENDING:
        return Outcome(why="certification pending: the certification reminders speak")
    if handoffs.is_active(progress, now, handoffs.timeout_from(ctx.settings)):
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
        due = _next_due(token["at"], cfg.idle_nudges, stage, now)
        nxt = {**token, "stage": stage + 1, "due": after_quiet_hours(due, cfg.quiet, cfg.tz)}
    return Outcome([message], nxt)


def _next_due(origin: float, offsets: list[float] | tuple[float, ...], stage: int, now: float) -> float:
    """When stage+1 is due: on the plan, but never closer to this (perhaps postponed) run than planned.

    Without the floor, a follow-up postponed past quiet hours would be followed at once by the next.
    """
    return max(origin + offsets[stage + 1], now + offsets[stage + 1] - offsets[stage])


_PLANS: dict[str, Callable[..., Outcome]] = {CERT: _plan_cert, IDLE: _plan_idle}


def user_message(ctx: ReminderContext, progress: Progress, template: str, context: dict[str, Any],
                 message_id: str) -> OutboxMessage:
    """A message to the user: markdown for surfaces that show it, the plain variant kept for the app."""
    reply = Reply(template, context)
    markdown = ctx.renderer.render(reply, progress.lang, MARKDOWN)
    plain = ctx.renderer.render(reply, progress.lang, TEXT)
    return OutboxMessage(USER, markdown, to_user=progress.user_id, fmt="markdown", id=message_id,
                         meta={"plain": plain, "user_key": progress.user_key, "kind": template})


def staff_message(ctx: ReminderContext, progress: Progress, template: str, context: dict[str, Any],
                  message_id: str) -> OutboxMessage | None:
    """To support staff: in the group (webhook, else the long connection), else privately via the app."""
    settings = ctx.settings
    text = ctx.renderer.render(Reply(template, context), progress.lang, MARKDOWN)
    meta = {"kind": template, "user_key": progress.user_key, "audience": "staff"}
    if settings.webhook_key or longconn_settings(settings):
        return OutboxMessage(WEBHOOK, text, to_user=progress.user_id, fmt="markdown", id=message_id, meta=meta)
    if settings.support_staff and settings.app_secret:
        plain = ctx.renderer.render(Reply(template, context), progress.lang, TEXT)
        return OutboxMessage(APP, text, to_user="|".join(settings.support_staff), fmt="markdown", id=message_id,
                             meta={**meta, "plain": plain})
    return None


def _digest(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(raw.encode()).hexdigest()[:24]
