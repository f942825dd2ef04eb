"""Redis is the only source of truth: progress, indexes, the reply cache and the event stream.

The message path's keys (named in ``bot.core.keys``, like every other key) are imported here under their
old names too, for the modules that read them. The commit writes per-user and global keys (indexes,
the event stream, the outbox) in one MULTI; on a Redis Cluster that works because every key shares
the ``{wb}`` hash tag, hence one slot (``bot.core.keys``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis

from bot.config import setting_default
from bot.core import trends
from bot.core.conversation import add as conversation_add
from bot.core.keys import (
    CERT_PENDING_INDEX,
    EVENTS_STREAM,
    HANDOFF_INDEX,
    UNANSWERED,
    USERS_INDEX,
    lock_key,
    progress_key,
    rate_key,
    reply_key,
    step_index,
    step_since_index,
)
from bot.core.locking import RETRY_SECONDS, RedisLock
from bot.core.messages import Outgoing
from bot.core.progress import CERT_PENDING, FINISHED, Progress
from bot.core.records import Event
from bot.infra.redis_conn import as_str
from bot.outbound.entry import OutboxMessage
from bot.outbound.queue import add as outbox_add

EVENTS_MAXLEN = 100_000
UNANSWERED_LIMIT = 1000
# Low-confidence questions, and answers the user rejected or followed by a call for a person.
UNANSWERED_KINDS = ("faq_unsure", "answer_rejected")


def step_entered_at(progress: Progress) -> float:
    """When the user entered their current step (the score of the step-since index)."""
    return progress.step_started_at.get(str(progress.step)) or progress.created_at or progress.last_seen


class UserBusy(Exception):
    """The user's lock could not be taken in time (another message of theirs is being handled)."""


# One round trip to start handling a message: a retry of an answered message gets its cached reply
# (not counted, not locked); otherwise count the message for the user's rate limit, take the user's
# lock, and read the progress under that lock.
_BEGIN_SCRIPT = """
local cached = redis.call('GET', KEYS[3])
if cached then return {'cached', cached} end
local limit = tonumber(ARGV[3])
if limit > 0 then
  local count = redis.call('INCR', KEYS[2])
  if count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
  if count > limit then return {'flood'} end
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'busy'} end
return {'ok', redis.call('GET', KEYS[3]) or '', redis.call('GET', KEYS[4]) or ''}
"""
RATE_WINDOW_SECONDS = 60


@dataclass
class Begun:
    """The outcome of :meth:`Store.begin_message`."""

    lock: RedisLock | None  # held, unless the message was answered already (cached) or is a flood
    cached: Outgoing | None = None
    progress: Progress | None = None


class Store:
    def __init__(self, client: redis.Redis, *, lock_timeout: float = setting_default("lock_timeout"),
                 reply_ttl: int = setting_default("reply_cache_seconds"),
                 lock_wait: float = setting_default("lock_wait")) -> None:
        self.redis = client
        self.lock_timeout = lock_timeout  # TTL: how long a crashed holder blocks the user
        self.lock_wait = lock_wait  # how long a message waits for the user's lock (WeCom waits 5 s)
        self.reply_ttl = reply_ttl
        self._begin = client.register_script(_BEGIN_SCRIPT)

    # -- progress -------------------------------------------------------------------------------
    def load(self, user_key: str) -> Progress | None:
        raw = self.redis.get(progress_key(user_key))
        return Progress.from_json(as_str(raw)) if raw else None

    def load_many(self, user_keys: Iterable[str]) -> list[Progress]:
        keys = list(user_keys)
        if not keys:
            return []
        raws = self.redis.mget([progress_key(k) for k in keys])
        return [Progress.from_json(as_str(raw)) for raw in raws if raw]

    @contextmanager
    def user_lock(self, user_key: str, wait: float | None = None) -> Iterator[RedisLock]:
        """Serialise read-modify-write per user (operator actions, reminders)."""
        lock = RedisLock(self.redis, lock_key(user_key), self.lock_timeout)
        if not lock.acquire(self.lock_wait if wait is None else wait):
            raise UserBusy(user_key)
        try:
            yield lock
        finally:
            lock.release()

    def begin_message(self, user_key: str, transport: str, msg_id: str, now: float, rate_limit: int) -> Begun:
        """Rate-count, lock and read for one incoming message, in one round trip when the lock is free.

        Raises UserBusy when the lock stays taken for ``lock_wait``. The caller releases ``Begun.lock``
        (or hands it to :meth:`commit`); ``Begun.lock`` is None for a cached reply or a flood.
        """
        lock = RedisLock(self.redis, lock_key(user_key), self.lock_timeout)
        keys = [lock.key, rate_key(user_key, int(now // RATE_WINDOW_SECONDS)), reply_key(user_key, transport, msg_id),
                progress_key(user_key)]
        deadline = time.monotonic() + self.lock_wait
        limit = rate_limit
        while True:
            asked_at = time.monotonic()
            result = self._begin(keys=keys, args=[lock.token, lock.ttl_ms, limit, RATE_WINDOW_SECONDS * 2])
            if result[0] == "cached":
                return Begun(lock=None, cached=Outgoing.from_json(json.loads(result[1])))
            if result[0] == "flood":
                return Begun(lock=None)
            if result[0] == "ok":
                lock.mark_acquired(asked_at)
                raw_reply, raw_progress = result[1], result[2]
                return Begun(
                    lock=lock,
                    cached=Outgoing.from_json(json.loads(raw_reply)) if raw_reply else None,
                    progress=Progress.from_json(raw_progress) if raw_progress else None,
                )
            if time.monotonic() >= deadline:
                raise UserBusy(user_key)
            limit = 0  # counted once already
            time.sleep(RETRY_SECONDS)

    # -- one atomic commit per handled message --------------------------------------------------
    def commit(
        self,
        progress: Progress,
        previous_step: int | None,
        events: list[Event],
        reply: tuple[str, str, Outgoing] | None = None,
        outbox: Iterable[OutboxMessage] = (),
        release: RedisLock | None = None,
        conversation: dict | None = None,
    ) -> None:
        """Save progress, its indexes, the cached reply, events and outgoing messages in one MULTI/EXEC.

        Either all of it happens or none: a retried callback then finds the cached reply and
        repeats no side effect. ``release``: the user's lock, freed in the same round trip; if it is
        about to expire (another process may take it), nothing is written and UserBusy is raised.
        """
        if release is not None and not release.safe_to_commit():
            raise UserBusy(progress.user_key)
        pipe = self.redis.pipeline(transaction=True)
        self._write_progress(pipe, progress, previous_step)
        if reply is not None:
            transport, msg_id, outgoing = reply
            pipe.set(reply_key(progress.user_key, transport, msg_id),
                     json.dumps(outgoing.to_json(), ensure_ascii=False), ex=self.reply_ttl)
        for event in events:
            pipe.xadd(EVENTS_STREAM, {"event": encode_event(progress.user_key, event)},
                      maxlen=EVENTS_MAXLEN, approximate=True)
            if event.kind in UNANSWERED_KINDS:
                record = {"user": progress.user_key, "at": progress.last_seen, "kind": event.kind, **event.data}
                pipe.lpush(UNANSWERED, json.dumps(record, ensure_ascii=False))
                pipe.ltrim(UNANSWERED, 0, UNANSWERED_LIMIT - 1)
        for message in outbox:
            outbox_add(pipe, message)
        if conversation is not None:
            conversation_add(pipe, progress.user_key, conversation)
        trends.record(pipe, progress, events, progress.last_seen)
        if release is not None:
            release.release_in(pipe)
        pipe.execute()
        if release is not None:
            release.released_by_commit()

    def save(self, progress: Progress, previous_step: int | None, events: Iterable[Event] = ()) -> None:
        """Commit without a reply (operator actions, reminder bookkeeping)."""
        self.commit(progress, previous_step, list(events))

    def _write_progress(self, pipe, progress: Progress, previous_step: int | None) -> None:
        key = progress.user_key
        pipe.set(progress_key(key), progress.to_json())
        pipe.zadd(USERS_INDEX, {key: progress.last_seen})
        step_changed = previous_step != progress.step
        if step_changed and previous_step is not None:
            pipe.zrem(step_index(previous_step), key)
            pipe.zrem(step_since_index(previous_step), key)
        pipe.zadd(step_index(progress.step), {key: progress.last_seen})
        if step_changed:  # the entry time only changes with the step
            pipe.zadd(step_since_index(progress.step), {key: step_entered_at(progress)})
        if progress.handoff.get("since"):  # the hand-off queue (bot.core.handoffs), by when the user asked
            pipe.zadd(HANDOFF_INDEX, {key: progress.handoff["since"]})
        else:
            pipe.zrem(HANDOFF_INDEX, key)
        if progress.cert.state == CERT_PENDING and progress.step != FINISHED:
            pipe.zadd(CERT_PENDING_INDEX, {key: progress.cert.since or progress.last_seen})
        else:
            pipe.zrem(CERT_PENDING_INDEX, key)


def encode_event(user_key: str, event: Event) -> str:
    return json.dumps({"user": user_key, "kind": event.kind, "data": event.data}, ensure_ascii=False)


def decode_event(raw: str) -> tuple[str, Event]:
    data = json.loads(raw)
    return data["user"], Event(data["kind"], data.get("data") or {})
