"""What every page of the operator view shares: its blueprint and the small request helpers.

The pages live in several modules (``bot.admin.pages`` and its ``admin_*`` neighbours); they all import
from here, and ``bot.admin.pages`` imports them, so no module imports one that imports it back. Register
the blueprint through ``bot.admin.pages``: that module installs the guard every page relies on.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, jsonify, render_template, request, session

from bot.admin.actions import Operator
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
