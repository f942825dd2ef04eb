"""``/admin/api/*``: the operator view's figures as JSON (GET only; a Bearer token or the session)."""

from __future__ import annotations

from flask import jsonify

from bot.admin.blueprint import MAX_LIMIT, PAGE_LIMIT, admin_queries, bp, int_arg, stuck_after, stuck_args
from bot.admin.queries import as_json


@bp.get("/api/funnel")
def api_funnel():
    return jsonify(as_json(admin_queries().funnel(stuck_after())))


@bp.get("/api/pending")
def api_pending():
    return jsonify(as_json(admin_queries().pending(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))))


@bp.get("/api/stuck")
def api_stuck():
    return jsonify(as_json(admin_queries().stuck(**stuck_args())))


@bp.get("/api/unanswered")
def api_unanswered():
    return jsonify(as_json(admin_queries().unanswered(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))))


@bp.get("/api/dead-letters")
def api_dead_letters():
    return jsonify(as_json(admin_queries().dead_letters(int_arg("offset", 0), int_arg("limit", 100, 1, MAX_LIMIT))))


@bp.get("/api/users")
def api_users():
    return jsonify(as_json(admin_queries().recent(int_arg("offset", 0), int_arg("limit", PAGE_LIMIT, 1, MAX_LIMIT))))


@bp.get("/api/users/<path:user_key>")
def api_user(user_key: str):
    detail = admin_queries().user(user_key)
    if detail is None:
        return jsonify(error="no such user"), 404
    return jsonify(as_json(detail))
