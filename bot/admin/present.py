"""How the operator view names steps and writes durations and times (shared by pages, API and CSV)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.guide import Guide
from bot.core.progress import FINISHED, NOT_STARTED

_SPECIAL = {NOT_STARTED: ("未开始", "Not started"), FINISHED: ("已完成", "Finished")}


def step_title(guide: Guide, step: int, lang: str = "zh") -> str:
    """The guide's title for steps 1-6; fixed names for "not started" (0) and "finished" (7)."""
    if step in _SPECIAL:
        zh, en = _SPECIAL[step]
        return en if lang == "en" else zh
    try:
        return guide.step(step).title.in_(lang)
    except IndexError:
        return f"step {step}"


def duration(seconds: float | None) -> str:
    """A short human duration ("45 s", "12 min", "3 h 5 min", "2 d 4 h"); "—" when unknown."""
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def zone(name: str | None) -> tzinfo:
    """The operators' time zone (ADMIN_TIMEZONE, default Asia/Shanghai); UTC if the name is unknown."""
    try:
        return ZoneInfo(name or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def when(ts: float | None, tz: tzinfo) -> str:
    """A timestamp as "YYYY-MM-DD HH:MM" in the operators' zone; "—" when unknown."""
    if not ts:
        return "—"
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")


def iso(ts: float | None) -> str:
    """A timestamp as ISO 8601 UTC for machine readers (CSV, JSON); empty when unknown."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
