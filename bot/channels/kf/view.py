"""``/wecom/kf``: the 微信客服 callback URL (GET verification, POST ``kf_msg_or_event``)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from bot.channels.kf.callback import KfCallback
from bot.channels.wecom.envelope import CallbackRejected

bp = Blueprint("wecom_kf", __name__)


def _callback() -> KfCallback:
    callback = current_app.extensions["weda"].kf_callback
    if callback is None:
        raise CallbackRejected("微信客服 not configured: set WECOM_CORP_ID, WECOM_KF_SECRET, WECOM_KF_TOKEN and "
                               "WECOM_KF_ENCODING_AES_KEY", 404)
    return callback


@bp.get("/wecom/kf")
def verify_url() -> Response:
    return Response(_callback().verify(request.args), mimetype="text/plain")


@bp.post("/wecom/kf")
def receive() -> Response:
    return Response(_callback().handle(request.args, request.get_data(cache=False)), mimetype="text/plain")
