"""Drain the outbox to WeCom: route each message, pace it, send it in parts, retry, dead-letter.

- Any error while sending is a failed attempt: exponential back-off (jittered) up to
  ``max_attempts``; WeCom's 45009 ("too often") waits a whole window instead, up to ``MAX_THROTTLED``
  times; a permanent error, or no channel at all, makes a dead letter at once.
- Exactly once as far as WeCom allows (``bot.outbound.inflight``): a claim before sending, a marker
  per acknowledged part, a copy whose id is marked sent is dropped. What remains is the gap between
  WeCom's answer and our SET (milliseconds), and a timeout where WeCom did deliver: WeCom has no
  idempotency key, so no client can close those.
- Pacing, not dropping (``bot.outbound.pacing``): a message over a channel's limit waits in the
  delayed set, and so do retries, messages with ``meta.not_before`` and 45009 answers.
- Routing (``bot.outbound.routing``) picks the channel per attempt; a refused response_url hands the
  message to the app (``bot.channels.aibot.response_url``).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable

import redis

from bot.channels.aibot import response_url
from bot.channels.aibot.response_url import ResponseUrlChannel
from bot.channels.app.outbound import AppChannel
from bot.channels.kf.api import TEXT_MAX_BYTES as KF_TEXT_MAX_BYTES
from bot.channels.kf.api import KfAPI
from bot.channels.kf.outbound import KfChannel
from bot.channels.longconn.outbound import LongConnChannel
from bot.channels.webhook.outbound import WebhookChannel
from bot.channels.wecom.api import WeComAPI
from bot.config import Settings, kf_configured
from bot.core.store import Store
from bot.core.textsplit import split_utf8
from bot.outbound import elapsed
from bot.outbound.channel import Channel, ChannelError
from bot.outbound.config import SenderConfig
from bot.outbound.entry import APP, KF, LONGCONN, RESPONSE_URL, WEBHOOK, OutboxMessage
from bot.outbound.inflight import Outbox
from bot.outbound.pacing import RateLimiter
from bot.outbound.routing import Route, Router, Undeliverable

log = logging.getLogger(__name__)

MAX_THROTTLED = 200  # 45009 answers before a message is given up


class _Wait(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"wait {seconds:.2f}s")
        self.seconds = seconds


class Sender:
    def __init__(self, store: Store, api: WeComAPI, settings: Settings, config: SenderConfig | None = None, *,
                 clock: Callable[[], float] = time.time, leading: Callable[[], bool] = lambda: True,
                 identity: str = "sender") -> None:
        self.store = store
        self.redis = store.redis
        self.api = api
        self.settings = settings
        self.config = config or SenderConfig.from_settings(settings)
        self.clock = clock
        self.leading = leading
        self.identity = identity
        self.limiter = RateLimiter(self.redis, clock)
        self.outbox = Outbox(self.redis, clock=clock, claim_ttl=self.config.claim_ttl, sent_ttl=self.config.sent_ttl)
        self.longconn = LongConnChannel.configured(settings, store, self.config)
        self.channels: dict[str, Channel] = {
            APP: AppChannel(api, self.config),
            WEBHOOK: WebhookChannel(api, settings.webhook_key or "", self.config),
            RESPONSE_URL: ResponseUrlChannel(api),
        }
        if self.longconn:
            self.channels[LONGCONN] = self.longconn
        if kf_configured(settings):
            self.channels[KF] = KfChannel(KfAPI.from_settings(settings, store.redis), store.redis, clock,
                                          min(settings.kf_reply_max_bytes, KF_TEXT_MAX_BYTES))
        self.router = Router(store, self.outbox, settings, app_available=api.can_send_app, longconn=self.longconn,
                             clock=clock, kf=KF in self.channels)

    # -- the loop -----------------------------------------------------------------------------------------
    def recover(self) -> int:
        return self.outbox.recover()

    def sweep(self) -> int:
        return self.outbox.sweep()

    def promote(self, limit: int = 500) -> int:
        return self.outbox.promote(limit)

    def next_delayed_in(self) -> float | None:
        return self.outbox.next_delayed_in()

    def run_once(self, block: float = 0.0) -> str | None:
        """Handle at most one message; ``block`` > 0 waits that long for one. Returns what happened."""
        self.outbox.promote()
        raw = self.outbox.take(block)
        return None if raw is None else self.process(raw)

    def drain(self, max_messages: int = 10_000) -> list[str]:
        """Everything ready now (tests, one-shot tools); delayed messages stay delayed."""
        results = []
        for _ in range(max_messages):
            result = self.run_once()
            if result is None:
                break
            results.append(result)
        return results

    def run(self, stop: threading.Event) -> None:
        """The sender thread: until ``stop`` or leadership ends."""
        while not stop.is_set() and self.leading():
            try:
                wait = self.next_delayed_in()
                self.run_once(block=min(1.0, max(0.05, wait)) if wait is not None else 1.0)
            except redis.RedisError as exc:
                log.error("outbox: redis error: %s", exc)
                stop.wait(1.0)
            except Exception:  # never let one bad message kill the thread
                log.exception("outbox: unexpected error")
                stop.wait(1.0)

    # -- one message ----------------------------------------------------------------------------------------
    def process(self, raw: str) -> str:
        outbox = self.outbox
        try:
            message = OutboxMessage.from_json(raw)
        except (ValueError, TypeError) as exc:
            outbox.finish(raw, dead=json.dumps({"raw": raw, "error": f"unreadable: {exc}"}, ensure_ascii=False))
            return "dead"
        if outbox.was_sent(message):
            outbox.finish(raw)
            return "duplicate"
        now = self.clock()
        not_before = message.meta.get("not_before")
        if not_before and float(not_before) > now:
            outbox.delay(raw, message, float(not_before), release=False)
            return "waiting"
        held_for = outbox.claim(message, self.identity)
        if held_for is not None:  # look again when the other sender's claim runs out
            outbox.delay(raw, message, now + held_for, release=False)
            return "claimed elsewhere"
        try:
            route = self.router.route(message)
            self._send(message, route)
        except Undeliverable as exc:
            self._dead(raw, message, str(exc))
            return "dead"
        except _Wait as wait:
            outbox.delay(raw, message, now + wait.seconds)
            return "paced"
        except ChannelError as exc:
            return self._failed(raw, message, exc)
        except (redis.RedisError, OSError) as exc:  # e.g. token lock timeouts: try again later
            return self._failed(raw, message, ChannelError(f"{type(exc).__name__}: {exc}"))
        except Exception as exc:  # a bug must cost an attempt, not strand the message in processing
            log.exception("unexpected error sending %s", message.id)
            return self._failed(raw, message, ChannelError(f"unexpected {type(exc).__name__}: {exc}"))
        self._sent(raw, message, route.channel)
        return "sent"

    def _send(self, message: OutboxMessage, route: Route) -> None:
        channel = self.channels[route.channel]
        content = channel.content(message)
        text = elapsed.fill(content.text, message.meta, self.clock())  # "submitted N minutes ago": as of now
        for i, part in enumerate(split_utf8(text, content.max_bytes)):
            if self.outbox.part_sent(message, route.channel, i):
                continue  # delivered before a crash or a failed later part
            wait = self.limiter.reserve(channel.limits(message, route.target))
            if wait > 0:
                raise _Wait(wait)
            self.outbox.extend_claim(message)
            channel.send(message, route.target, content.msgtype, part)
            self.outbox.mark_part_sent(message, route.channel, i)

    def _sent(self, raw: str, message: OutboxMessage, route: str) -> None:
        self.outbox.sent(raw, message)
        log.info("sent %s via %s to %s", message.id, route, message.to_user)

    def _dead(self, raw: str, message: OutboxMessage, error: str) -> None:
        message.meta.update(error=error, failed_at=self.clock())
        log.error("message %s to %s failed for good: %s", message.id, message.to_user, error)
        self.outbox.dead(raw, message)

    def _failed(self, raw: str, message: OutboxMessage, exc: ChannelError) -> str:
        now = self.clock()
        if message.meta.get("route") == RESPONSE_URL and exc.refused:
            if response_url.refusal_means_sent(message, now):
                # Only this message held the URL and an earlier attempt on it timed out: that attempt
                # used it. Sending again through the app would show the message twice.
                log.warning("response_url of %s refused after an unanswered attempt: counted as sent (%s)",
                            message.id, exc)
                self._sent(raw, message, RESPONSE_URL)
                return "sent"
            # WeCom refused the URL (used, expired, invalid): nothing was shown; the app takes over
            message.meta.update(route=APP, route_failed=str(exc))
            self.outbox.forget_url(message)
            self.outbox.delay(raw, message, now)
            return "retry"
        if message.meta.get("route") == RESPONSE_URL and not exc.rate_limited:
            message.meta["url_unsure"] = True  # it may have been delivered: retry the same URL, never the app
        if exc.permanent:
            self._dead(raw, message, str(exc))
            return "dead"
        if exc.rate_limited:
            message.meta["throttled"] = int(message.meta.get("throttled", 0)) + 1
            if message.meta["throttled"] > MAX_THROTTLED:
                self._dead(raw, message, str(exc))
                return "dead"
            self.outbox.delay(raw, message, now + self.config.window + self.config.margin)
            return "throttled"
        message.attempts += 1
        if message.attempts >= self.config.max_attempts:
            self._dead(raw, message, str(exc))
            return "dead"
        backoff = min(self.config.backoff_base * 2 ** (message.attempts - 1), self.config.backoff_max)
        self.outbox.delay(raw, message, now + backoff * random.uniform(0.8, 1.2))
        log.warning("send %s failed (attempt %d): %s", message.id, message.attempts, exc)
        return "retry"
