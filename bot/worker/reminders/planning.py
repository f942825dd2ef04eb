"""Planning: each domain event from ``{wb}:events`` becomes a job planned, replaced or cancelled.

Also the notices an event itself calls for (a step done, for the group; a call for a person, for
staff), queued at once. Every handler is idempotent: the stream may deliver an event again.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.core import handoffs
from bot.core.progress import CERT_PENDING, STEP_COUNT
from bot.core.records import Event
from bot.outbound.queue import add as outbox_add
from bot.outbound.routing import notice_group
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.jobs import CERT, HANDOFF, IDLE, cancel, job_id, schedule
from bot.worker.reminders.outgoing import digest, group_notice, queue_once, staff_call
from bot.worker.reminders.stages import cert_resume, cert_start, handoff_start, idle_start

log = logging.getLogger(__name__)

HUMAN_NOTICE_WINDOW = 600  # seconds: staff hear of one user's call for a person at most once per window


class Planner:
    def __init__(self, ctx: ReminderContext) -> None:
        self.ctx = ctx

    def handle(self, user_key: str, event: Event, event_id: str = "", event_time: float | None = None) -> None:
        """Apply one event from ``{wb}:events``. Idempotent: the stream may deliver it again after a crash."""
        kind = event.kind
        if kind == "activity":
            self._on_activity(user_key, event.data)
        elif kind == "cert_submitted":
            self._on_cert_submitted(user_key, event.data)
        elif kind in ("cert_passed", "cert_failed"):
            cancel(self.ctx, CERT, user_key)
        elif kind == "reset":
            cancel(self.ctx, CERT, user_key)
            cancel(self.ctx, IDLE, user_key)
        elif kind in ("handoff_opened", "handoff_claimed"):
            self._on_handoff(user_key)
        elif kind == "handoff_resolved":
            cancel(self.ctx, HANDOFF, user_key)
        # "mute" needs nothing here: jobs check ``muted`` when they fire (and the "activity" event of
        # the same message re-plans the idle job anyway); staff still hear of a stuck certification.
        elif kind == "unmute":
            self._on_unmute(user_key)
        elif kind in ("step_completed", "all_done"):
            self._notice(user_key, event, event_id, event_time)
        elif kind in ("human_requested", "faq_escalated"):
            self._call_staff(user_key, event, event_id)

    def _on_activity(self, user_key: str, data: dict[str, Any]) -> None:
        """The user did something: the idle nudges start over from now."""
        token = idle_start(self.ctx.config, int(data.get("step", 0)), float(data.get("at", 0.0)))
        if token is None:
            cancel(self.ctx, IDLE, user_key)
            return
        schedule(self.ctx, IDLE, user_key, token)

    def _on_handoff(self, user_key: str) -> None:
        """A hand-off opened or was claimed: plan telling the user if it times out (replacing the old plan)."""
        progress = self.ctx.store.load(user_key)
        token = handoff_start(progress, handoffs.timeout_from(self.ctx.settings)) if progress else None
        if token is None:
            cancel(self.ctx, HANDOFF, user_key)
            return
        schedule(self.ctx, HANDOFF, user_key, token)

    def _on_unmute(self, user_key: str) -> None:
        """Reminders are back on: a certification still pending gets a follow-up again, even if the chain
        ran out (or reached the staff notice) while the user had them muted."""
        ctx = self.ctx
        progress = ctx.store.load(user_key)
        if progress is None or progress.muted or progress.cert.state != CERT_PENDING or progress.cert.since is None:
            return
        job = ctx.scheduler.get_job(job_id(CERT, user_key)) if ctx.scheduler is not None else None
        last_user_stage = len(ctx.config.cert_followups)
        if job is not None and int(job.args[3].get("stage", 0)) <= last_user_stage:
            return  # a reminder to the user is still coming
        schedule(ctx, CERT, user_key, cert_resume(ctx.config, progress.cert.since, progress.cert.attempts,
                                                  ctx.clock(), dict(job.args[3]) if job is not None else {}))

    def _on_cert_submitted(self, user_key: str, data: dict[str, Any]) -> None:
        """The user submitted certification: plan the first check (once per attempt)."""
        progress = self.ctx.store.load(user_key)
        if progress is None or progress.cert.state != CERT_PENDING or progress.cert.since is None:
            return  # already answered by the time we read the event
        if progress.cert.attempts != int(data.get("attempt", progress.cert.attempts)):
            return  # an older submission: the newer one has its own event
        schedule(self.ctx, CERT, user_key, cert_start(self.ctx.config, progress.cert.since, progress.cert.attempts))

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
        if event.kind == "step_completed" and not 1 <= int(event.data.get("step", 0)) <= STEP_COUNT:
            return
        chat = notice_group(ctx.settings, progress, event)
        if chat is None:
            return  # told in a group already, or they wrote in no group: no other group hears of it
        message_id = f"notice-{event_id or digest(user_key, event.kind, event.data)}-{event.kind}"
        outbox_add(ctx.redis, group_notice(ctx, progress, user_key, event, chat, message_id))

    def _call_staff(self, user_key: str, event: Event, event_id: str) -> None:
        """The user asked for a person (or the FAQ ran out of answers): tell support staff, once per event.

        Not subject to GROUP_NOTICES or NOTICE_MAX_AGE: the bot told the user staff were notified.
        """
        ctx = self.ctx
        progress = ctx.store.load(user_key)
        if progress is None:
            return
        # Once per user per ten minutes: a user repeating "人工" must not use up the group's 20/min.
        at = int(event_id.split("-")[0]) / 1000 if event_id[:1].isdigit() else ctx.clock()
        message_id = f"notice-human-{user_key}-{int(at // HUMAN_NOTICE_WINDOW)}"
        message = staff_call(ctx, progress, event, message_id)
        if message is None:
            log.warning("%s from %s: no channel to reach staff (no webhook key, no app secret)", event.kind, user_key)
            return
        queue_once(ctx, message_id, [message])  # the stream may deliver the event again
