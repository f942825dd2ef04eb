"""Put the operator view on a Flask app: every route module joins the one blueprint, then it is registered.

Routes attach to ``bot.admin.blueprint.bp`` when their module is imported; importing them here, by name,
is what makes them exist (nothing else imports a route module for its routes).
"""

from __future__ import annotations

from flask import Flask

from bot.admin import export, guard, handoff_pages, json_api, pages, teach_pages, trend_pages
from bot.admin.blueprint import bp

ROUTE_MODULES = (guard, pages, json_api, export, handoff_pages, teach_pages, trend_pages)


def register(app: Flask) -> None:
    """``/admin`` and ``/metrics`` on ``app``."""
    app.register_blueprint(bp)
