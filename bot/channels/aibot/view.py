"""``/wecom/aibot``: the AI bot (智能机器人) callback URL (GET verification, POST JSON callbacks)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from bot.channels.aibot.callback import AibotCallback
from bot.channels.wecom.envelope import CallbackRejected

bp = Blueprint("wecom_aibot", __name__)


def _callback() -> AibotCallback:
    callback = current_app.extensions["weda"].aibot_callback
    if callback is None:
        raise CallbackRejected("AI bot callback not configured: set WECOM_AIBOT_TOKEN and WECOM_AIBOT_ENCODING_AES_KEY",
                               404)
    return callback


@bp.get("/wecom/aibot")
def verify_url() -> Response:
    return Response(_callback().verify(request.args), mimetype="text/plain")


@bp.post("/wecom/aibot")
def receive() -> Response:
    callback = _callback()
    reply = callback.handle(request.args, request.get_data(cache=False))
    return Response(reply, mimetype="application/json" if reply else "text/plain")
