"""``/admin``: the operator view — to be filled in by the operator-view work."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)
