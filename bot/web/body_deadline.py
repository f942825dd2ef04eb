"""A deadline for request bodies: a WSGI middleware that reads the body first, within BODY_DEADLINE_SECONDS.

Why: a client that sends its headers and then its body a byte at a time holds a connection (a slot of
the gevent worker's pool) for as long as it likes; 2,100 of them left no slot for WeCom's callbacks.
WeCom and browsers send these small bodies at once, so a body not complete within a few seconds is
dropped: 408 and ``Connection: close``, and the slot is free again. The body is then handed to the app
from memory (it is at most MAX_CALLBACK_BYTES; a longer one is left for Flask's 413).

The deadline is a ``gevent.Timeout``, so it acts under the deployed gevent worker (bot/web/gunicorn_conf.py),
where socket reads yield to gevent's hub. Without gevent's monkey-patching (the Flask test client, a sync
worker) there is no hub to interrupt a read, and the middleware only buffers (a sync worker has its own
30 s timeout). Slow *headers* are gunicorn's to bound, before any WSGI code runs; in production a
buffering reverse proxy in front (docs/operations.md) takes both off the workers.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyDeadline:
    def __init__(self, app: WSGIApp, seconds: float, max_bytes: int) -> None:
        self.app = app
        self.seconds = seconds
        self.max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = _length(environ)
        if self.seconds <= 0 or not _gevent_patched() or length == 0 or (length or 0) > self.max_bytes:
            return self.app(environ, start_response)
        import gevent

        try:
            with gevent.Timeout(self.seconds):
                body = _read(environ["wsgi.input"], length, self.max_bytes)
        except gevent.Timeout:
            log.warning("request body not received within %.1f s: dropped (%s %s)", self.seconds,
                        environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            start_response("408 Request Timeout", [("Content-Type", "text/plain"), ("Connection", "close"),
                                                   ("Content-Length", "22")])
            return [b"request body too slow\n"]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def _length(environ: dict[str, Any]) -> int | None:
    """The declared body length; None for a chunked body (read to its end, within the deadline)."""
    raw = environ.get("CONTENT_LENGTH")
    if raw:
        try:
            return max(int(raw), 0)
        except ValueError:
            return 0  # the app answers that one
    return None if "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower() else 0


def _read(stream: Any, length: int | None, max_bytes: int) -> bytes:
    want = length if length is not None else max_bytes + 1
    parts: list[bytes] = []
    while want > 0:
        part = stream.read(min(CHUNK, want))
        if not part:
            break
        parts.append(part)
        want -= len(part)
    return b"".join(parts)


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency of the web process
        return False
    return bool(monkey.is_module_patched("socket"))
