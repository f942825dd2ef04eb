"""A hand-off's state on a ``Progress``: open, claimed, when it expires. Pure functions, no Redis.

The reducer opens and closes it (``bot.core.progress_reducer``); the desk (``bot.core.handoffs``), the
reminders and the 微信客服 channel read it.
"""

from __future__ import annotations

from typing import Any

from bot.core.progress import Progress

WAITING, CLAIMED = "waiting", "claimed"


def is_open(progress: Progress) -> bool:
    return bool(progress.handoff.get("since"))


def expires_at(progress: Progress, timeout: float) -> float | None:
    if not is_open(progress):
        return None
    handoff = progress.handoff
    return max(float(handoff["since"]), float(handoff.get("claimed_at") or 0)) + timeout


def is_active(progress: Progress, now: float, timeout: float) -> bool:
    """Open and not timed out: a person has (or is about to take) this user."""
    expiry = expires_at(progress, timeout)
    return expiry is not None and now < expiry


def open_handoff(progress: Progress, now: float, reason: str) -> None:
    progress.handoff = {"since": now, "state": WAITING, "step": progress.step, "reason": reason}


def close(progress: Progress) -> dict[str, Any]:
    closed, progress.handoff = progress.handoff, {}
    return closed
