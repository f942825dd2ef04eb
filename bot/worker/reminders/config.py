"""Reminder settings: the typed fields of ``bot.config.Settings`` the reminders use, in a frozen ``ReminderConfig``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time as dtime
from zoneinfo import ZoneInfo

from bot.config import Settings, longconn_settings
from bot.progress import Progress


def fixed_group(settings: Settings) -> bool:
    """Group notices have a group of their own: the group robot's webhook, or the long connection's named group.

    Without one (the demo, a long connection without WECOM_NOTICE_CHATID) a notice can only go to the group the
    user spoke in: for a user who only ever wrote privately none is planned, rather than planned and
    dead-lettered as undeliverable on every step they complete.
    """
    conn = longconn_settings(settings)
    return bool(settings.webhook_key or (conn and conn.notice_chat_id))


@dataclass(frozen=True)
class ReminderConfig:
    cert_check_delay: float = 600.0
    cert_followups: tuple[float, ...] = (1800.0, 7200.0)  # after the first check
    cert_escalate_delay: float = 3600.0  # after the last follow-up; < 0 disables the staff notice
    idle_nudges: tuple[float, ...] = (86400.0, 259200.0)  # after the last activity
    quiet: tuple[dtime, dtime] | None = (dtime(22, 0), dtime(8, 30))
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    group_notices: bool = False
    fixed_group: bool = False  # see fixed_group(): else a notice goes only to a group the user spoke in
    user_groups: bool = False  # the long connection can post into a group the user spoke in
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
            fixed_group=fixed_group(settings),
            user_groups=longconn_settings(settings) is not None,
            retry=settings.reminder_retry,
            grace=settings.reminder_grace,
            notice_max_age=settings.notice_max_age,
        )

    def reaches_group_of(self, progress: Progress) -> bool:
        """A message about this user may go to a group: ours, or one the user spoke in — never another."""
        in_group = (progress.last_chat or {}).get("chat_type") == "group"
        return self.fixed_group or (self.user_groups and in_group)
