"""The funnel page's trend: registrations started and finished per day, median time per step
(``bot.core.trends``), drawn as SVG on the server (``bot.admin.trend_chart``); JSON at ``/admin/api/trends``."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from bot.admin.blueprint import bp, runtime
from bot.admin.present import step_title
from bot.admin.trend_chart import daily, step_times
from bot.core import trends
from bot.core.progress import STEP_COUNT

DAYS = 30


def trend_context() -> dict[str, Any]:
    services = runtime().services
    data = trends.read(services.store.redis, services.clock(), DAYS)
    titles = {n: step_title(services.guide, n) for n in range(1, STEP_COUNT + 1)}
    return {"trend": daily(data), "step_times": step_times(data["median_step_seconds"], titles), "trend_days": DAYS}


@bp.get("/api/trends")
def api_trends():
    services = runtime().services
    return jsonify(trends.read(services.store.redis, services.clock(), DAYS))
