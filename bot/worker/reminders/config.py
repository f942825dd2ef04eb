"""Reminder settings: read once from the environment into a frozen ``ReminderConfig``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time as dtime
from zoneinfo import ZoneInfo

from bot.config import ConfigError, Settings, longconn_settings


def _seconds_list(settings: Settings, name: str, default: str) -> tuple[float, ...]:
    """Comma-separated seconds; unset or empty means the default, "off" means none."""
    raw = (settings.get(name) or default).strip()
    if raw.lower() in ("off", "none", "0"):
        return ()
    try:
        return tuple(float(part) for part in raw.replace(";", ",").split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated seconds, got {raw!r}") from exc


def _quiet_hours(raw: str) -> tuple[dtime, dtime] | None:
    raw = raw.strip().lower()
    if raw in ("0", "off", "none", "no"):
        return None
    try:
        start, end = (dtime.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError as exc:
        raise ConfigError(f"QUIET_HOURS must look like 22:00-08:30, got {raw!r}") from exc
    return None if start == end else (start, end)


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
        notices = (settings.get("GROUP_NOTICES") or ("1" if group_channel else "0")).strip().lower()
        try:
            tz = ZoneInfo(settings.get("REMINDER_TZ") or "Asia/Shanghai")
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ConfigError(f"REMINDER_TZ is not a known time zone: {exc}") from exc
        return cls(
            cert_check_delay=settings.seconds("CERT_CHECK_DELAY", 600.0),
            cert_followups=_seconds_list(settings, "CERT_FOLLOWUPS", "1800,7200"),
            cert_escalate_delay=settings.seconds("CERT_ESCALATE_DELAY", 3600.0),
            idle_nudges=_seconds_list(settings, "IDLE_NUDGES", "86400,259200"),
            quiet=_quiet_hours(settings.get("QUIET_HOURS") or "22:00-08:30"),
            tz=tz,
            group_notices=notices in ("1", "true", "yes", "on") and group_channel,
            retry=settings.seconds("REMINDER_RETRY", 60.0),
            grace=settings.seconds("REMINDER_GRACE", 6 * 3600.0),
            notice_max_age=settings.seconds("NOTICE_MAX_AGE", 3600.0),
        )
