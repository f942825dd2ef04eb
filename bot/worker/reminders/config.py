"""Reminder settings: a view of the ``bot.config.Settings`` fields the reminders use (no defaults of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time as dtime
from zoneinfo import ZoneInfo

from bot.config import Settings, build_view, derived, view
from bot.outbound.routing import group_notices_on


@dataclass(frozen=True)
class ReminderConfig:
    cert_check_delay: float = view("cert_check_delay")
    cert_followups: tuple[float, ...] = view("cert_followups")  # after the first check
    cert_escalate_delay: float = view("cert_escalate_delay")  # after the last follow-up; < 0: no staff notice
    idle_nudges: tuple[float, ...] = view("idle_nudges")  # after the last activity
    quiet: tuple[dtime, dtime] | None = view("quiet_hours")
    tz: ZoneInfo = view("reminder_tz")
    group_notices: bool = derived("group_notices", "bot_id", "ws_url")  # asked of routing
    retry: float = view("reminder_retry")  # a job whose run did not confirm is run again after this
    grace: float = view("reminder_grace")  # misfire grace: later than this, a reminder is dropped
    notice_max_age: float = view("notice_max_age")  # group notices for older events (a backlog) are skipped

    @classmethod
    def from_settings(cls, settings: Settings) -> ReminderConfig:
        return build_view(cls, settings, group_notices=group_notices_on(settings))
