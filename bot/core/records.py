"""The records of what happened (``Event``): what the event stream, the timeline and the listeners read.

Apart from ``bot.core.messages`` so that the reducer, which makes them, and the messages, which carry them,
need not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """A domain fact the pipeline records and hands to listeners (reminders, notices, metrics)."""

    kind: str  # "activity", "step_completed", "all_done", "cert_submitted", "cert_passed", ...
    data: dict[str, Any] = field(default_factory=dict)


GROUP_NEWS = ("step_completed", "all_done")  # events a group may hear of (``bot.outbound.routing.notice_group``)
