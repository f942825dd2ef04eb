"""Drain the outbox (``wb:outbox``) to WeCom: pick a channel, pace to WeCom's limits, retry, dead-letter.

Reliability, step by step:
- A message is moved (LMOVE/BLMOVE) into ``wb:outbox:processing`` before it is worked on and removed
  from there only in the same MULTI that records its fate (sent, delayed, dead). A worker that dies
  leaves it in the processing list; the next leader moves it back (``recover``), and the leader
  sweeps the list every SEND_SWEEP_SECONDS for entries a live worker stranded (Redis dropped during
  that MULTI): those whose claim has run out (``sweep``). Any error while sending is a failed attempt.
- Exactly once as far as WeCom allows: before sending, a claim ``SET NX PX`` on the message id (two
  copies of one message never go out concurrently); each acknowledged part gets a "sent" marker at
  once, and the message a "sent" marker with its removal; a copy whose id is marked sent is dropped.
  What remains is the gap between WeCom's answer and our SET (milliseconds), and a timeout where
  WeCom did deliver: WeCom has no idempotency key, so no client can close those.
- Pacing, not dropping: a Redis sliding-window log per limit (webhook 20/min per robot key;
  message/send 30/min and 1000/h per member), shared by all workers. A message over the limit waits
  in ``wb:outbox:delayed`` (a ZSET scored by when it may go) and so do retries (exponential backoff),
  messages with ``meta.not_before``, and 45009 answers (WeCom throttled us anyway: wait a window).
- The channel is chosen per message: the user's AI-bot ``response_url`` when fresh and unused (it is
  cleared from their progress, under their lock, in the MULTI that claims it), else the app's
  ``message/send``, else a mention in the group through the webhook. A private message (the rest of
  a reply in the app's 1:1 chat) goes only through ``message/send``: the user's response_url may
  belong to a group chat, and the webhook posts to the group.
- A response_url failure moves the message to the app only when WeCom answered with an errcode (it
  refused: nothing was shown). A timeout or HTTP 5xx may have been delivered: it is retried on the
  same URL (valid an hour, usable once), and if WeCom then refuses the URL within its hour, only that
  earlier attempt can have used it, so the message counts as sent rather than going out twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis

from bot.config import Settings, longconn_settings
from bot.keys import (
    DEAD_LETTERS,
    OUTBOX_CLAIM_PREFIX,
    OUTBOX_DELAYED,
    OUTBOX_PROCESSING,
    OUTBOX_QUEUE,
    OUTBOX_ROUTE_PREFIX,
    OUTBOX_SENT_PREFIX,
    app_rate_key,
    key_parts,
    sent_part_key,
    webhook_rate_key,
)
from bot.metrics import count_event
from bot.outbox import APP, MOVE_IF_PRESENT, RESPONSE_URL, WEBHOOK, OutboxMessage
from bot.store import Store, UserBusy, progress_key
from bot.textsplit import split_utf8, utf8_len
from bot.wecom.api import WeComAPI, WeComError
from bot.wecom.longconn_route import LONGCONN, LongConnRoute

log = logging.getLogger(__name__)

# The outbox's working keys (bot.keys), under the names the sender and its tests use.
PROCESSING = OUTBOX_PROCESSING
DELAYED = OUTBOX_DELAYED
SENT_PREFIX = OUTBOX_SENT_PREFIX
CLAIM_PREFIX = OUTBOX_CLAIM_PREFIX
ROUTE_PREFIX = OUTBOX_ROUTE_PREFIX  # the response_url a message claimed (survives a crash)

TEXT_LIMIT = 2048  # bytes: app text/markdown, webhook text
WEBHOOK_MARKDOWN_LIMIT = 4096
RESPONSE_URL_LIMIT = 20480  # one POST only: a longer message goes another way
LONGCONN_LIMIT = 20480  # markdown bytes per aibot_send_msg (bot.wecom.longconn_route)
URL_MARGIN = 60.0  # a refused response_url this long before its end cannot have expired: it was used

_RESERVE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 + 2 * i]) * 1000) + 1000)
end
return '0'
"""


_PROMOTE = """
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for i = #items, 1, -1 do
  redis.call('ZREM', KEYS[1], items[i])
  redis.call('RPUSH', KEYS[2], items[i])
end
return #items
"""


@dataclass(frozen=True)
class SenderConfig:
    max_attempts: int = 12
    backoff_base: float = 2.0
    backoff_max: float = 900.0
    webhook_limit: int = 20
    app_limit: int = 30
    app_hourly_limit: int = 1000
    window: float = 60.0  # the "per minute" of the limits (tests shrink it)
    hourly_window: float = 3600.0
    margin: float = 1.0  # added to every window: our clock and WeCom's are not the same clock
    sent_ttl: float = 7 * 86400.0
    http_timeout: float = 5.0
    max_throttled: int = 200  # 45009 answers before a message is given up
    claim_ttl: float = 15.0  # how long a claim outlives a sender that died mid-send (> one HTTP call)
    sweep_interval: float = 30.0  # the leader returns stranded processing entries this often (0: never)

    @classmethod
    def from_settings(cls, settings: Settings) -> SenderConfig:
        timeout = settings.http_timeout
        return cls(
            max_attempts=settings.send_max_attempts,
            backoff_base=settings.send_backoff_base,
            backoff_max=settings.send_backoff_max,
            webhook_limit=settings.webhook_rate_limit,
            app_limit=settings.app_rate_limit,
            app_hourly_limit=settings.app_hourly_limit,
            window=settings.rate_window,
            hourly_window=settings.rate_hourly_window,
            margin=settings.rate_margin,
            sent_ttl=settings.sent_ttl,
            http_timeout=timeout,
            claim_ttl=settings.send_claim_ttl if settings.send_claim_ttl is not None else timeout * 2 + 5.0,
            sweep_interval=settings.send_sweep_seconds,
        )


class RateLimiter:
    """Sliding-window logs in Redis: ``reserve`` takes a slot in every window or says how long to wait."""

    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._script = client.register_script(_RESERVE)

    def reserve(self, limits: list[tuple[str, int, float]]) -> float:
        if not limits:
            return 0.0
        args: list[str] = [repr(self.clock()), uuid.uuid4().hex]
        for _key, limit, window in limits:
            args += [str(limit), repr(window)]
        return float(self._script(keys=[key for key, _, _ in limits], args=args))


class _Undeliverable(Exception):
    """No channel may carry this message: a dead letter, with the reason."""


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
        ws = longconn_settings(settings)
        self.longconn = LongConnRoute(ws, store, settings.corp_id, self.config.http_timeout) if ws else None
        self._promote = self.redis.register_script(_PROMOTE)
        self._move = self.redis.register_script(MOVE_IF_PRESENT)
        self._unclaimed: set[str] = set()  # processing entries the last sweep found without a claim

    # -- queue plumbing -----------------------------------------------------------------------------------
    def recover(self) -> int:
        """Put messages a dead worker left half-done back at the head of the outbox (oldest first)."""
        moved = 0
        while self.redis.lmove(PROCESSING, OUTBOX_QUEUE, "LEFT", "RIGHT") is not None:
            moved += 1
        if moved:
            log.warning("recovered %d message(s) left in processing", moved)
        return moved

    def sweep(self) -> int:
        """Return processing entries stranded by a live worker (Redis dropped mid-fate) to the outbox.

        A sender holds a message's claim from just after taking it until its fate is recorded; only the
        instant between the LMOVE and the claim's SET is unclaimed. So an entry is moved only when two
        sweeps in a row found it unclaimed (the leader sweeps every ``sweep_interval``). Moving one
        that is still being worked on costs nothing: the claim and the sent marker drop the copy.
        """
        entries = self.redis.lrange(PROCESSING, 0, -1)
        ids = [_message_id(raw) for raw in entries]
        with self.redis.pipeline(transaction=False) as pipe:
            for message_id in ids:
                pipe.exists(CLAIM_PREFIX + (message_id or ""))
            claimed = pipe.execute() if entries else []
        unclaimed = {raw for raw, message_id, held in zip(entries, ids, claimed, strict=True)
                     if not message_id or not held}
        stranded, self._unclaimed = unclaimed & self._unclaimed, unclaimed
        moved = sum(int(self._move(keys=[PROCESSING, OUTBOX_QUEUE], args=[raw, raw, "head"])) for raw in stranded)
        self._unclaimed -= stranded
        if moved:
            log.warning("swept %d stranded message(s) from processing back to the outbox", moved)
        return moved

    def promote(self, limit: int = 500) -> int:
        """Move delayed messages whose time has come back to the head of the outbox."""
        return int(self._promote(keys=[DELAYED, OUTBOX_QUEUE], args=[repr(self.clock()), limit]))

    def next_delayed_in(self) -> float | None:
        first = self.redis.zrange(DELAYED, 0, 0, withscores=True)
        return max(first[0][1] - self.clock(), 0.0) if first else None

    def run_once(self, block: float = 0.0) -> str | None:
        """Handle at most one message; ``block`` > 0 waits that long for one. Returns what happened."""
        self.promote()
        if block > 0:
            raw = self.redis.blmove(OUTBOX_QUEUE, PROCESSING, block, "RIGHT", "LEFT")
        else:
            raw = self.redis.lmove(OUTBOX_QUEUE, PROCESSING, "RIGHT", "LEFT")
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
        try:
            message = OutboxMessage.from_json(raw)
        except (ValueError, TypeError) as exc:
            self._finish(raw, dead=json.dumps({"raw": raw, "error": f"unreadable: {exc}"}, ensure_ascii=False))
            return "dead"
        if self.redis.exists(SENT_PREFIX + message.id):
            self._finish(raw)
            return "duplicate"
        now = self.clock()
        not_before = message.meta.get("not_before")
        if not_before and float(not_before) > now:
            self._delay(raw, message, float(not_before), release=False)
            return "waiting"
        claim = CLAIM_PREFIX + message.id
        if not self.redis.set(claim, self.identity, nx=True, px=int(self.config.claim_ttl * 1000)):
            left = self.redis.pttl(claim)  # look again when the other sender's claim runs out
            self._delay(raw, message, now + (left / 1000 if left > 0 else 0.1), release=False)
            return "claimed elsewhere"
        try:
            route, url = self._route(message)
            self._send(message, route, url)
        except _Undeliverable as exc:
            self._dead(raw, message, str(exc))
            return "dead"
        except _Wait as wait:
            self._delay(raw, message, now + wait.seconds)
            return "paced"
        except WeComError as exc:
            return self._failed(raw, message, exc)
        except (redis.RedisError, OSError) as exc:  # e.g. token lock timeouts: try again later
            return self._failed(raw, message, WeComError(f"{type(exc).__name__}: {exc}"))
        except Exception as exc:  # a bug must cost an attempt, not strand the message in processing
            log.exception("unexpected error sending %s", message.id)
            return self._failed(raw, message, WeComError(f"unexpected {type(exc).__name__}: {exc}"))
        self._sent(raw, message, route)
        return "sent"

    def _sent(self, raw: str, message: OutboxMessage, route: str) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(SENT_PREFIX + message.id, int(self.clock()), ex=int(self.config.sent_ttl))
            pipe.lrem(PROCESSING, 1, raw)
            pipe.delete(CLAIM_PREFIX + message.id, ROUTE_PREFIX + message.id)
            if _is_reminder(message):
                count_event(pipe, "reminder_sent")
            pipe.execute()
        log.info("sent %s via %s to %s", message.id, route, message.to_user)

    def _failed(self, raw: str, message: OutboxMessage, exc: WeComError) -> str:
        now = self.clock()
        if message.meta.get("route") == RESPONSE_URL and exc.refused:
            if message.meta.get("url_unsure") and now + URL_MARGIN < float(message.meta.get("url_expires") or 0):
                # Only this message held the URL and an earlier attempt on it timed out: that attempt
                # used it. Sending again through the app would show the message twice.
                log.warning("response_url of %s refused after an unanswered attempt: counted as sent (%s)",
                            message.id, exc)
                self._sent(raw, message, RESPONSE_URL)
                return "sent"
            # WeCom refused the URL (used, expired, invalid): nothing was shown; the app takes over
            message.meta.update(route=APP, route_failed=str(exc))
            self.redis.delete(ROUTE_PREFIX + message.id)
            self._delay(raw, message, now)
            return "retry"
        if message.meta.get("route") == RESPONSE_URL and not exc.rate_limited:
            message.meta["url_unsure"] = True  # it may have been delivered: retry the same URL, never the app
        if exc.permanent:
            self._dead(raw, message, str(exc))
            return "dead"
        if exc.rate_limited:
            message.meta["throttled"] = int(message.meta.get("throttled", 0)) + 1
            if message.meta["throttled"] > self.config.max_throttled:
                self._dead(raw, message, str(exc))
                return "dead"
            self._delay(raw, message, now + self.config.window + self.config.margin)
            return "throttled"
        message.attempts += 1
        if message.attempts >= self.config.max_attempts:
            self._dead(raw, message, str(exc))
            return "dead"
        backoff = min(self.config.backoff_base * 2 ** (message.attempts - 1), self.config.backoff_max)
        self._delay(raw, message, now + backoff * random.uniform(0.8, 1.2))
        log.warning("send %s failed (attempt %d): %s", message.id, message.attempts, exc)
        return "retry"

    # -- choosing the channel --------------------------------------------------------------------------------
    def _route(self, message: OutboxMessage) -> tuple[str, str | None]:
        """The channel (and response_url) for this attempt; raises ``_Undeliverable`` when there is none."""
        if self.longconn and (chat := self.longconn.target(message, webhook=bool(self.settings.webhook_key))):
            message.meta["route"] = LONGCONN
            return LONGCONN, chat  # the chat id rides where a response_url would
        if message.channel == WEBHOOK:
            if not self.settings.webhook_key:
                raise _Undeliverable("no group chat known to the long connection yet (set WECOM_NOTICE_CHATID)"
                                     if self.longconn else "no channel can reach the group (no webhook key)")
            return WEBHOOK, None
        if _is_private(message):  # never a response_url (maybe a group's) nor the group webhook
            message.meta["route"] = APP
            if self.api.can_send_app and message.to_user:
                return APP, None
            raise _Undeliverable("private message: only the app's message/send may carry it, "
                                 "and no WECOM_APP_SECRET is configured")
        if message.meta.get("route") != APP:
            if message.channel == RESPONSE_URL and message.url:
                url = message.url
            else:
                url = self.redis.get(ROUTE_PREFIX + message.id) or self._claim_response_url(message)
            expires = message.meta.get("url_expires")
            if url and expires is not None and float(expires) <= self.clock():
                message.meta["route_failed"] = "response_url expired"
                url = None
            if url:
                message.meta["route"] = RESPONSE_URL
                return RESPONSE_URL, url
        message.meta["route"] = APP
        if self.api.can_send_app and message.to_user:
            return APP, None
        if self.settings.webhook_key and message.to_user:
            return WEBHOOK, None  # last resort: mention them in the group
        if self.longconn and (chat := self.longconn.target(message, webhook=False, fallback=True)):
            message.meta["route"] = LONGCONN
            return LONGCONN, chat  # their private chat with the AI bot
        raise _Undeliverable("no channel can reach the recipient (no app secret, no webhook key)")

    def _claim_response_url(self, message: OutboxMessage) -> str | None:
        """Take the user's unused, fresh response_url for this message (once: it is cleared)."""
        user = message.to_user or ""
        if not user or "|" in user or message.meta.get("audience") == "staff":
            return None
        if utf8_len(message.text) > RESPONSE_URL_LIMIT:
            return None
        user_key = message.meta.get("user_key") or key_parts(self.settings.corp_id, user)
        try:
            with self.store.user_lock(user_key, wait=2.0):
                progress = self.store.load(user_key)
                if (progress is None or not progress.response_url
                        or (progress.response_url_expires or 0) <= self.clock() + 5):
                    return None
                url, expires = progress.response_url, float(progress.response_url_expires)
                progress.response_url = None
                progress.response_url_expires = None
                with self.redis.pipeline(transaction=True) as pipe:
                    pipe.set(progress_key(user_key), progress.to_json())
                    pipe.set(ROUTE_PREFIX + message.id, url, ex=max(int(expires - self.clock()), 1))
                    pipe.execute()
                message.meta["url_expires"] = expires
                return url
        except UserBusy:
            return None  # the user is mid-message: the app is as good

    # -- sending ---------------------------------------------------------------------------------------------
    def _send(self, message: OutboxMessage, route: str, url: str | None) -> None:
        msgtype, text, limit = self._content(message, route)
        parts = split_utf8(text, limit)
        claim = CLAIM_PREFIX + message.id
        for i, part in enumerate(parts):
            marker = sent_part_key(message.id, route, i)
            if self.redis.exists(marker):
                continue  # delivered before a crash or a failed later part
            wait = self.limiter.reserve(self._limits(message, route, url))
            if wait > 0:
                raise _Wait(wait)
            self.redis.pexpire(claim, int(self.config.claim_ttl * 1000))
            if route == LONGCONN and self.longconn:
                self.longconn.send(url or "", part)
            elif route == RESPONSE_URL:
                self.api.post_response_url(url or "", part)
            elif route == WEBHOOK:
                mention = [message.to_user] if message.to_user and msgtype == "text" else None
                self.api.send_webhook(self.settings.webhook_key or "", msgtype, part, mention)
            else:
                self.api.send_app(message.to_user or "", msgtype, part)
            self.redis.set(marker, 1, ex=int(self.config.sent_ttl))

    def _content(self, message: OutboxMessage, route: str) -> tuple[str, str, int]:
        markdown = message.fmt == "markdown"
        if route == RESPONSE_URL:
            return "markdown", message.text, RESPONSE_URL_LIMIT
        if route == LONGCONN:
            return "markdown", message.text, LONGCONN_LIMIT
        if route == WEBHOOK:
            text = message.text
            if message.channel != WEBHOOK and message.to_user:  # an app message falling back to the group
                text = f"<@{message.to_user}> {text}" if markdown else text
            return ("markdown", text, WEBHOOK_MARKDOWN_LIMIT) if markdown else ("text", text, TEXT_LIMIT)
        plain = message.meta.get("plain")
        if plain:
            return "text", plain, TEXT_LIMIT
        return ("markdown" if markdown else "text"), message.text, TEXT_LIMIT

    def _limits(self, message: OutboxMessage, route: str, target: str | None = None) -> list[tuple[str, int, float]]:
        cfg = self.config
        if route == LONGCONN and self.longconn:
            return self.longconn.limits(target or "", cfg.window + cfg.margin, cfg.hourly_window + cfg.margin)
        if route == WEBHOOK:
            robot = hashlib.sha256((self.settings.webhook_key or "").encode()).hexdigest()[:16]
            return [(webhook_rate_key(robot), cfg.webhook_limit, cfg.window + cfg.margin)]
        if route == APP:
            limits = []
            for user in (message.to_user or "").split("|"):
                limits.append((app_rate_key(user, "m"), cfg.app_limit, cfg.window + cfg.margin))
                limits.append((app_rate_key(user, "h"), cfg.app_hourly_limit,
                               cfg.hourly_window + cfg.margin))
            return limits
        return []

    # -- recording a message's fate (each in one MULTI with its removal from processing) -----------------------
    def _finish(self, raw: str, dead: str | None = None) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            if dead is not None:
                pipe.lpush(DEAD_LETTERS, dead)
            pipe.lrem(PROCESSING, 1, raw)
            pipe.execute()

    def _delay(self, raw: str, message: OutboxMessage, ready_at: float, release: bool = True) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(DELAYED, {message.to_json(): ready_at})
            pipe.lrem(PROCESSING, 1, raw)
            if release:
                pipe.delete(CLAIM_PREFIX + message.id)
            pipe.execute()

    def _dead(self, raw: str, message: OutboxMessage, error: str) -> None:
        message.meta.update(error=error, failed_at=self.clock())
        log.error("message %s to %s failed for good: %s", message.id, message.to_user, error)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(DEAD_LETTERS, message.to_json())
            pipe.lrem(PROCESSING, 1, raw)
            pipe.delete(CLAIM_PREFIX + message.id, ROUTE_PREFIX + message.id)
            if _is_reminder(message):
                count_event(pipe, "reminder_failed")
            pipe.execute()


def _is_private(message: OutboxMessage) -> bool:
    """The rest of a reply (always), or a message marked private: for the user's 1:1 chat only."""
    return bool(message.meta.get("private") or message.meta.get("continues"))


def _is_reminder(message: OutboxMessage) -> bool:
    return str(message.meta.get("kind", "")).startswith("reminder_")


def _message_id(raw: str) -> str | None:
    try:
        message_id = json.loads(raw).get("id")
    except (ValueError, TypeError, AttributeError):
        return None
    return message_id if isinstance(message_id, str) else None
