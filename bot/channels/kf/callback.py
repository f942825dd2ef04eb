"""The 微信客服 callback, free of Flask: verify the URL; take a ``kf_msg_or_event`` and answer at once.

The event carries no message, so the answer is always empty; the pull runs afterwards
(``bot.channels.kf.pull``), in a background thread of this process — and, should this process die first,
in the worker's sweep, which pulls every account with an event no finished pull has seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import redis

from bot.channels.app import protocol as app_protocol
from bot.channels.kf import protocol as proto
from bot.channels.kf.api import TEXT_MAX_BYTES, KfAPI
from bot.channels.kf.inbound import KfInbound
from bot.channels.kf.pull import KfPuller
from bot.channels.kf.state import KfState
from bot.channels.wecom.envelope import CallbackRejected, Envelope, SignedQuery
from bot.config import Settings, kf_configured
from bot.core.pipeline import Pipeline


class KfCallback:
    def __init__(self, envelope: Envelope, puller: KfPuller) -> None:
        self.envelope = envelope
        self.puller = puller

    def verify(self, args: Mapping[str, str]) -> str:
        return self.envelope.verify_url(args)

    def handle(self, args: Mapping[str, str], body: bytes) -> str:
        """Check, decrypt, note the pull; "" (an empty 200) is all WeCom needs."""
        query = SignedQuery.from_args(args)
        plaintext = self.envelope.decrypt(query, app_protocol.encrypted_field(body))
        request = proto.pull_request(plaintext)
        if request is not None:
            try:
                self.puller.request(request.open_kfid, request.token)
            except redis.RedisError as exc:  # WeCom retries a callback that failed: nothing is lost
                raise CallbackRejected(f"redis unavailable ({type(exc).__name__})", 503) from exc
            self.puller.pull_later(request.open_kfid)
        return ""


def build_puller(settings: Settings, pipeline: Pipeline, client: redis.Redis | None = None,
                 clock: Callable[[], float] | None = None) -> KfPuller:
    """The puller of one process (web, worker, CLI), from settings."""
    services = pipeline.services
    client = client if client is not None else services.store.redis
    clock = clock or services.clock
    inbound = KfInbound(pipeline, KfState(client, clock),
                        servicer=settings.support_staff[0] if settings.support_staff else None,
                        reply_max_bytes=min(settings.kf_reply_max_bytes, TEXT_MAX_BYTES))
    return KfPuller(client, KfAPI.from_settings(settings, client), inbound, limit=settings.kf_sync_limit, clock=clock)


def build_kf_callback(settings: Settings, pipeline: Pipeline, clock: Callable[[], float]) -> KfCallback | None:
    """The kf callback, or None when 微信客服 is not configured (the view answers 404 then)."""
    if not kf_configured(settings):
        return None
    envelope = Envelope(settings.kf, max_age=settings.callback_max_age, clock=clock)
    puller = build_puller(settings, pipeline, clock=clock)
    puller.start_sweeper(settings.kf_sweep_seconds)
    return KfCallback(envelope, puller)
