"""``/wecom/callback``: the self-built app's callback URL (GET verification, POST messages)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from bot.channels.app.callback import AppCallback
from bot.channels.wecom.envelope import CallbackRejected

bp = Blueprint("wecom_app", __name__)


def _callback() -> AppCallback:
    callback = current_app.extensions["weda"].app_callback
    if callback is None:
        raise CallbackRejected("app callback not configured: set WECOM_CORP_ID, WECOM_TOKEN and "
                               "WECOM_ENCODING_AES_KEY", 404)
    return callback


@bp.get("/wecom/callback")
def verify_url() -> Response:
    return Response(_callback().verify(request.args), mimetype="text/plain")


@bp.post("/wecom/callback")
def receive() -> Response:
    return Response(_callback().handle(request.args, request.get_data(cache=False)), mimetype="application/xml")
