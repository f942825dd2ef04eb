"""Reminder settings: the typed fields of ``bot.config.Settings`` the reminders use, in a frozen ``ReminderConfig``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time as dtime
from zoneinfo import ZoneInfo

from bot.config import Settings, longconn_settings


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
        # A notice about a user goes only to a group they wrote in: the long connection can reach one, the
        # webhook's group may not be theirs (``bot.outbound.routing``).
        group_channel = bool(longconn_settings(settings))
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

