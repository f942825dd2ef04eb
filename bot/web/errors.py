"""Bad callbacks get a short 4xx and a one-line log, never a 500 or a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from bot.channels.wecom.envelope import CallbackRejected

log = logging.getLogger("bot.web")


def register(app: Flask) -> None:
    @app.errorhandler(CallbackRejected)
    def rejected(exc: CallbackRejected) -> Response:
        log.warning("rejected %s %s: %s", request.method, request.path, exc.reason)
        return Response(f"{exc.reason}\n", status=exc.status, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if (exc.code or 500) >= 500:
            log.error("%s %s: %s", request.method, request.path, exc)
        else:
            log.warning("%s %s: %s %s", request.method, request.path, exc.code, exc.name)
        return Response(f"{exc.name}\n", status=exc.code or 500, mimetype="text/plain")
