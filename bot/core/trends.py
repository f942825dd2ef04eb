"""Daily registration figures for the funnel's trend chart: started and finished per day, and how
long each step took.

Why counters written at commit time: the chart covers 30 days of every user, and the operator view
must cost the same with 100 users or 100,000 (``bot.admin.queries``). So the commit that records a
"started" or "all_done" event adds one to that day's field of a hash, and a completed step pushes
its duration onto a capped list per step; the page reads 2 HMGETs and 6 short LRANGEs.
Days are counted in the operators' zone (Asia/Shanghai, as the admin pages show them).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import redis

from bot.core.keys import TREND_FINISHED, TREND_STARTED, trend_step_durations_key
from bot.core.progress import STEP_COUNT, Progress
from bot.core.records import Event

DAYS_TZ = ZoneInfo("Asia/Shanghai")
DURATIONS_KEPT = 500  # per step: the median is over the most recent of these within the window (bounded cost)


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, DAYS_TZ).strftime("%Y-%m-%d")


def record(pipe: redis.client.Pipeline, progress: Progress, events: list[Event], now: float) -> None:
    """Count this commit's events (called inside the commit's MULTI)."""
    for event in events:
        if event.kind == "started":
            pipe.hincrby(TREND_STARTED, day_of(now), 1)
        elif event.kind == "all_done":
            pipe.hincrby(TREND_FINISHED, day_of(now), 1)
        elif event.kind == "step_completed":
            step = int(event.data.get("step", 0))
            entered = progress.step_started_at.get(str(step))
            if 1 <= step <= STEP_COUNT and entered:
                key = trend_step_durations_key(step)
                pipe.lpush(key, f"{now:.0f}:{max(0.0, now - entered):.0f}")
                pipe.ltrim(key, 0, DURATIONS_KEPT - 1)


def read(client: redis.Redis, now: float, days: int = 30) -> dict[str, Any]:
    """The last ``days`` days (oldest first) and the median seconds per step over the same window."""
    today = datetime.fromtimestamp(now, DAYS_TZ).date()
    labels = [(today - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
    pipe = client.pipeline(transaction=False)
    pipe.hmget(TREND_STARTED, labels)
    pipe.hmget(TREND_FINISHED, labels)
    for step in range(1, STEP_COUNT + 1):
        pipe.lrange(trend_step_durations_key(step), 0, DURATIONS_KEPT - 1)
    started, finished, *per_step = pipe.execute()
    since = now - days * 86400
    medians: dict[int, float | None] = {}
    for step, raws in enumerate(per_step, 1):
        values = [float(d) for at, sep, d in (raw.partition(":") for raw in raws) if sep and float(at) >= since]
        medians[step] = median(values) if values else None
    return {
        "days": labels,
        "started": [int(v or 0) for v in started],
        "finished": [int(v or 0) for v in finished],
        "median_step_seconds": medians,
    }
