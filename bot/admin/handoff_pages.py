"""``/admin/handoffs``: users waiting for a person — claim them, mark them resolved; JSON at
``/admin/api/handoffs``. Routes on the operator view's blueprint, so its guard (login or bearer
token, CSRF on POST) covers them; the queue itself is ``bot.core.handoffs``.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse  # what redirect() returns

from bot.admin.actions import AdminActions, UserNotFound
from bot.admin.blueprint import MAX_LIMIT, PAGE_LIMIT, bp, current_operator, int_arg, refuse, runtime
from bot.admin.kf_sessions import kf_sessions
from bot.admin.queries import as_json
from bot.core.handoffs import HandoffDesk, NotInQueue
from bot.core.staff_messages import MAX_REPLY_CHARS, EmptyReply
from bot.core.store import UserBusy


def _desk() -> HandoffDesk:
    services = runtime().services
    return HandoffDesk(services.store, services.guide, services.clock, services.handoff_timeout, services.renderer)


@bp.get("/handoffs")
def handoffs():
    data = _desk().page(int_arg("offset", 0), int_arg("limit", PAGE_LIMIT, 1, MAX_LIMIT))
    return render_template("admin/handoffs.html", data=data, page="handoffs", kf=_kf())


@bp.get("/api/handoffs")
def api_handoffs():
    data = _desk().page(int_arg("offset", 0), int_arg("limit", PAGE_LIMIT, 1, MAX_LIMIT))
    return jsonify({**as_json(data), "kf_sessions": as_json(_kf())})


def _kf():
    """微信客服 sessions and their state (WeCom's own reception), beside the bot's queue."""
    return kf_sessions(runtime().redis, runtime().services.clock)


@bp.post("/handoffs/<path:user_key>/claim")
def claim_handoff(user_key: str):
    return _change(user_key, "claim")


@bp.post("/handoffs/<path:user_key>/resolve")
def resolve_handoff(user_key: str):
    return _change(user_key, "resolve")


@bp.post("/users/<path:user_key>/reply")
def reply(user_key: str):
    """Staff write to the user from their desk; the outbox and routing deliver it where the user last wrote."""
    text = request.form.get("text", "")
    if len(text) > MAX_REPLY_CHARS:
        return refuse(400, f"A reply is at most {MAX_REPLY_CHARS} characters; split it in two.")
    services = runtime().services
    actions = AdminActions(services.store, services.renderer, services.guide, services.clock)
    try:
        actions.reply(user_key, current_operator(), text)
    except UserNotFound:
        return refuse(404, f"No user {user_key!r}.")
    except EmptyReply:
        return refuse(400, "Write something to send.")
    except UserBusy:
        flash("The bot is handling a message from this user right now; try again in a moment.", "error")
    else:
        flash(f"{user_key.split(':', 1)[-1]}: reply queued; it goes to the chat they last wrote in.", "ok")
    return _back(user_key)


def _back(user_key: str) -> BaseResponse:
    back = request.form.get("back") == "user"
    return redirect(url_for("admin.user", user_key=user_key) if back else url_for("admin.handoffs"), code=303)


def _change(user_key: str, what: str) -> BaseResponse:
    desk, operator = _desk(), current_operator().name
    try:
        (desk.claim if what == "claim" else desk.resolve)(user_key, operator)
    except NotInQueue:
        return refuse(404, f"{user_key!r} is not waiting for a person (resolved already?).")
    except UserBusy:
        flash("The bot is handling a message from this user right now; try again in a moment.", "error")
    else:
        user = user_key.split(":", 1)[-1]
        flash(f"{user}: claimed by {operator}." if what == "claim" else f"{user}: resolved; the bot answers again.",
              "ok")
    return _back(user_key)
