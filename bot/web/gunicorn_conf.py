"""gunicorn settings for the web process (``gunicorn -c python:bot.web.gunicorn_conf 'bot.web.app:create_app()'``).

Why gevent workers: a sync worker is held by one connection from its first byte to its last, so two
clients that send headers (or a body) a byte a second take two sync workers for up to the 30 s
timeout, and WeCom gives up on every callback after 5 s. A gevent worker parks each connection in
a greenlet while it waits for bytes and answers the others meanwhile; bench/slow_clients.py shows
50 such connections open while signed callbacks are still answered in milliseconds. Each worker
still runs one request's Python at a time, so ``WEB_CONCURRENCY`` (default 2, one per core) keeps
the multi-core throughput. A body not received within BODY_DEADLINE_SECONDS is dropped by the app's own
middleware (bot/web/body_deadline.py, timed by gevent), so slow bodies free their slot. In production
put a buffering reverse proxy in front anyway (docs/operations.md).
"""

from __future__ import annotations

from bot.config import env_value

bind = f"{env_value('host') or '0.0.0.0'}:{env_value('port')}"
workers = env_value("web_concurrency")
worker_class = env_value("web_worker_class")
worker_connections = env_value("web_worker_connections")  # open connections per worker
timeout = 30
graceful_timeout = 10
keepalive = 5
# Small limits on what a request may be before the app sees it: WeCom's callbacks are tiny.
limit_request_line = 4096
limit_request_fields = 50
limit_request_field_size = 8190


def post_worker_init(worker) -> None:
    """Each web process also answers the text the ``ocr`` process read (bot.ocr.answers): it holds the
    understanding model and the knowledge base anyway, so the ``ocr`` process need not."""
    from bot.ocr.answers import start_in_web

    start_in_web(worker.wsgi)
