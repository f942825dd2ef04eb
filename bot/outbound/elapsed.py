"""Times a message states that must be true when it is delivered, not when it was planned or queued.

A reminder can wait in the outbox (paced, retried while WeCom is down, postponed); "submitted 12
minutes ago" written when the job fired would be stale by then. Templates print :data:`ELAPSED_MINUTES`
where the figure goes, the message carries ``meta.elapsed_from`` (a timestamp), and the sender
fills the figure in just before it sends (:func:`fill`).
"""

from __future__ import annotations

from typing import Any

ELAPSED_MINUTES = "@@elapsed_minutes@@"


def fill(text: str, meta: dict[str, Any], now: float) -> str:
    """``text`` with the minutes since ``meta['elapsed_from']`` in place of the marker (at least 1)."""
    since = meta.get("elapsed_from")
    if since is None or ELAPSED_MINUTES not in text:
        return text
    return text.replace(ELAPSED_MINUTES, str(max(1, int((now - float(since)) // 60))))
