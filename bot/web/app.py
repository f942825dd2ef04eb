"""The Flask application factory (``gunicorn 'bot.web.app:create_app()'``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.admin import web as admin
from bot.channels.aibot import view as aibot_callback
from bot.channels.app import view as app_callback
from bot.channels.kf import view as kf_callback
from bot.config import Settings, load_settings
from bot.infra.logs import configure as configure_logging
from bot.web import errors
from bot.web.body_deadline import BodyDeadline
from bot.wiring.runtime import Runtime, build_runtime


def create_app(settings: Settings | None = None, *, client: redis.Redis | None = None,
               clock: Callable[[], float] = time.time) -> Flask:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    runtime = build_runtime(settings, client, clock)

    app = Flask(__name__, template_folder=str(settings.templates_dir))
    app.config["MAX_CONTENT_LENGTH"] = settings.max_callback_bytes
    app.config["SECRET_KEY"] = settings.secret_key
    app.extensions["weda"] = runtime
    errors.register(app)
    app.register_blueprint(app_callback.bp)
    app.register_blueprint(aibot_callback.bp)
    app.register_blueprint(kf_callback.bp)
    admin.register(app)
    app.wsgi_app = BodyDeadline(app.wsgi_app, settings.body_deadline, settings.max_callback_bytes)  # type: ignore[method-assign]
    if settings.proxy_fix_x_for:  # the client address from X-Forwarded-For, N proxies deep (login throttle)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_fix_x_for)  # type: ignore[method-assign]

    @app.get("/healthz")
    def healthz():
        try:
            runtime.redis.ping()
        except redis.RedisError:
            return jsonify(status="degraded", redis=False), 503
        return jsonify(status="ok", redis=True, demo=settings.demo)

    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["weda"]
