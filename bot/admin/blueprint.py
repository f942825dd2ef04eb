"""What every page of the operator view shares: its blueprint and the small request helpers.

The routes live in several modules (``guard``, ``pages``, ``api``, ``export`` and the ``*_pages``); they all
import from here and nothing here imports them, so no module imports one that imports it back. Register the
blueprint with ``bot.admin.web.register``: it imports every route module, the guard's first.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, session

from bot.admin.actions import AdminActions, Operator
from bot.admin.queries import ALL_STEPS, OPEN_STEPS, AdminQueries
from bot.wiring.runtime import Runtime

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 10**9  # past any real list; keeps Redis ranges within its integer range
ASCII_INT = re.compile(r"[0-9]{1,12}")


def runtime() -> Runtime:
    return current_app.extensions["weda"]


def is_api() -> bool:
    return request.path.startswith("/admin/api/") or request.path == "/admin/export.csv"


def int_arg(name: str, default: int, low: int = 0, high: int = MAX_OFFSET) -> int:
    """A query integer in ``[low, high]``; anything else ("²", "1e3", 5,000 digits) is the default."""
    raw = request.args.get(name, "")
    value = int(raw) if ASCII_INT.fullmatch(raw) else default
    return min(max(low, value), high)


def current_operator() -> Operator:
    return Operator(session.get("op") or "admin")


def refuse(status: int, message: str) -> Response:
    """An error page, or a JSON error for the API (and for clients that prefer JSON)."""
    if is_api() or request.accept_mimetypes.best == "application/json":
        response = jsonify(error=message)
        response.status_code = status
        return response
    return Response(render_template("admin/error.html", status=status, message=message), status=status)


def admin_queries() -> AdminQueries:
    services = runtime().services
    return AdminQueries(services.store, services.guide, services.clock, services.knowledge)


def admin_actions() -> AdminActions:
    services = runtime().services
    return AdminActions(services.store, services.renderer, services.guide, services.clock)


MAX_STUCK_HOURS = 24 * 366 * 10


def stuck_after() -> float:
    """The idle threshold: ``?hours=`` or ADMIN_STUCK_HOURS (default 24); finite and at most ten years."""
    default = runtime().settings.admin_stuck_hours
    try:
        hours = float(request.args.get("hours", default))
    except ValueError:
        hours = default
    if not math.isfinite(hours):
        hours = default
    return min(max(0.0, hours), MAX_STUCK_HOURS) * 3600


def stuck_args() -> dict[str, Any]:
    step = request.args.get("step", "")
    steps = [int(step)] if ASCII_INT.fullmatch(step) and int(step) in ALL_STEPS else list(OPEN_STEPS)
    sort = request.args.get("sort", "idle")
    return {
        "idle_seconds": stuck_after(),
        "steps": steps,
        "sort": sort if sort in ("idle", "step") else "idle",
        "descending": request.args.get("dir", "desc") != "asc",
        "offset": int_arg("offset", 0),
        "limit": int_arg("limit", PAGE_LIMIT, 1, MAX_LIMIT),
    }
