"""Everything one process needs to answer callbacks, built once from settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from bot.channels.aibot.callback import AibotCallback, build_aibot_callback
from bot.channels.app import protocol as app_protocol
from bot.channels.app.callback import AppCallback
from bot.channels.kf.callback import KfCallback, build_kf_callback
from bot.channels.wecom.envelope import Envelope
from bot.config import Settings
from bot.core.pipeline import Pipeline, Services
from bot.wiring.services import build_services


@dataclass
class Runtime:
    settings: Settings
    services: Services
    pipeline: Pipeline
    app_callback: AppCallback | None
    aibot_callback: AibotCallback | None = None  # None: the AI bot's token and key are not configured
    kf_callback: KfCallback | None = None  # None: 微信客服 is not configured

    @property
    def redis(self) -> redis.Redis:
        return self.services.store.redis


def build_runtime(settings: Settings, client: redis.Redis | None = None,
                  clock: Callable[[], float] = time.time) -> Runtime:
    services = build_services(settings, client, clock)
    pipeline = Pipeline(services)
    return Runtime(
        settings=settings,
        services=services,
        pipeline=pipeline,
        app_callback=_app_callback(settings, pipeline, clock),
        aibot_callback=build_aibot_callback(settings, pipeline, clock),
        kf_callback=build_kf_callback(settings, pipeline, clock),
    )


def _app_callback(settings: Settings, pipeline: Pipeline, clock: Callable[[], float]) -> AppCallback | None:
    """The self-built app's callback, or None when its token and key are not configured (the view says so)."""
    if not settings.app.token:
        return None
    envelope = Envelope(settings.app, max_age=settings.callback_max_age, clock=clock)
    return AppCallback(envelope, pipeline, settings.corp_id,
                       reply_max_bytes=None if settings.demo else app_protocol.TEXT_REPLY_MAX_BYTES)
