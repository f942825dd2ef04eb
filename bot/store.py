"""Redis is the only source of truth: progress, indexes, the reply cache and the event stream.

Every key the bot writes is named here (prefix ``wb:``), so the key design stays in one place.
Keys for one user hash-tag the user key (``{corp:user}``) so a Redis Cluster keeps them together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

import redis

from bot.messages import Event, Outgoing
from bot.outbox import OutboxMessage
from bot.outbox import add as outbox_add
from bot.progress import CERT_PENDING, FINISHED, Progress

PREFIX = "wb:"
EVENTS_STREAM = PREFIX + "events"
EVENTS_MAXLEN = 100_000
USERS_INDEX = PREFIX + "idx:users"  # user_key -> last_seen
CERT_PENDING_INDEX = PREFIX + "idx:cert_pending"  # user_key -> since
UNANSWERED = PREFIX + "unanswered"  # JSON records of low-confidence questions, newest first
UNANSWERED_LIMIT = 1000


def progress_key(user_key: str) -> str:
    return f"{PREFIX}user:{{{user_key}}}"


def lock_key(user_key: str) -> str:
    return f"{PREFIX}lock:{{{user_key}}}"


def reply_key(transport: str, msg_id: str) -> str:
    return f"{PREFIX}reply:{transport}:{msg_id}"


def rate_key(user_key: str, window: int) -> str:
    return f"{PREFIX}rate:{{{user_key}}}:{window}"


def step_index(step: int) -> str:
    """Users currently on ``step``, scored by last activity: the operator view reads these."""
    return f"{PREFIX}idx:step:{step}"


def step_since_index(step: int) -> str:
    """Users on ``step`` scored by when they entered it: the operator view reads time on step from
    it by rank (median, oldest) instead of loading users (bot.admin.queries)."""
    return f"{PREFIX}idx:step_since:{step}"


class UserBusy(Exception):
    """The user's lock could not be taken in time (another message of theirs is being handled)."""


class Store:
    def __init__(self, client: redis.Redis, *, lock_timeout: float = 10.0, reply_ttl: int = 3600) -> None:
        self.redis = client
        self.lock_timeout = lock_timeout
        self.reply_ttl = reply_ttl

    # -- progress -------------------------------------------------------------------------------
    def load(self, user_key: str) -> Progress | None:
        raw = self.redis.get(progress_key(user_key))
        return Progress.from_json(raw) if raw else None

    def load_many(self, user_keys: Iterable[str]) -> list[Progress]:
        keys = list(user_keys)
        if not keys:
            return []
        raws = self.redis.mget([progress_key(k) for k in keys])
        return [Progress.from_json(raw) for raw in raws if raw]

    @contextmanager
    def user_lock(self, user_key: str, wait: float | None = None) -> Iterator[UserLock]:
        """Serialise read-modify-write per user; the TTL frees a lock whose holder crashed."""
        lock = UserLock(self.redis.lock(
            lock_key(user_key),
            timeout=self.lock_timeout,
            blocking_timeout=self.lock_timeout if wait is None else wait,
        ))
        if not lock.lock.acquire():
            raise UserBusy(user_key)
        try:
            yield lock
        finally:
            lock.release()

    def count_message(self, user_key: str, now: float, window_seconds: int = 60) -> int:
        """How many messages this user sent in the current window, this one included."""
        key = rate_key(user_key, int(now // window_seconds))
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window_seconds * 2)
        return int(pipe.execute()[0])

    def load_for_message(self, transport: str, msg_id: str, user_key: str) -> tuple[Outgoing | None, Progress | None]:
        """The cached reply to this message (if it was answered) and the user's progress, in one round trip."""
        raw_reply, raw_progress = self.redis.mget(reply_key(transport, msg_id), progress_key(user_key))
        reply = Outgoing.from_json(json.loads(raw_reply)) if raw_reply else None
        return reply, Progress.from_json(raw_progress) if raw_progress else None

    # -- the reply cache (dedupe) ---------------------------------------------------------------
    def cached_reply(self, transport: str, msg_id: str) -> Outgoing | None:
        raw = self.redis.get(reply_key(transport, msg_id))
        return Outgoing.from_json(json.loads(raw)) if raw else None

    # -- one atomic commit per handled message --------------------------------------------------
    def commit(
        self,
        progress: Progress,
        previous_step: int | None,
        events: list[Event],
        reply: tuple[str, str, Outgoing] | None = None,
        outbox: Iterable[OutboxMessage] = (),
        release: UserLock | None = None,
    ) -> None:
        """Save progress, its indexes, the cached reply, events and outgoing messages in one MULTI/EXEC.

        Either all of it happens or none: a retried callback then finds the cached reply and
        repeats no side effect. ``release``: the user's lock, freed in the same round trip.
        """
        pipe = self.redis.pipeline(transaction=True)
        self._write_progress(pipe, progress, previous_step)
        if reply is not None:
            transport, msg_id, outgoing = reply
            pipe.set(reply_key(transport, msg_id), json.dumps(outgoing.to_json(), ensure_ascii=False),
                     ex=self.reply_ttl)
        for event in events:
            pipe.xadd(EVENTS_STREAM, {"event": encode_event(progress.user_key, event)},
                      maxlen=EVENTS_MAXLEN, approximate=True)
            if event.kind == "faq_unsure":
                record = {"user": progress.user_key, "at": progress.last_seen, **event.data}
                pipe.lpush(UNANSWERED, json.dumps(record, ensure_ascii=False))
                pipe.ltrim(UNANSWERED, 0, UNANSWERED_LIMIT - 1)
        for message in outbox:
            outbox_add(pipe, message)
        if release is not None:
            release.release_in(pipe)
        pipe.execute()

    def unanswered(self, limit: int = 100) -> list[dict]:
        """Questions the bot was not sure about, newest first (text already redacted)."""
        return [json.loads(raw) for raw in self.redis.lrange(UNANSWERED, 0, limit - 1)]

    def save(self, progress: Progress, previous_step: int | None, events: Iterable[Event] = ()) -> None:
        """Commit without a reply (operator actions, reminder bookkeeping)."""
        self.commit(progress, previous_step, list(events))

    def _write_progress(self, pipe, progress: Progress, previous_step: int | None) -> None:
        key = progress.user_key
        pipe.set(progress_key(key), progress.to_json())
        pipe.zadd(USERS_INDEX, {key: progress.last_seen})
        if previous_step is not None and previous_step != progress.step:
            pipe.zrem(step_index(previous_step), key)
            pipe.zrem(step_since_index(previous_step), key)
        pipe.zadd(step_index(progress.step), {key: progress.last_seen})
        since = progress.step_started_at.get(str(progress.step)) or progress.created_at or progress.last_seen
        pipe.zadd(step_since_index(progress.step), {key: since})
        if progress.cert.state == CERT_PENDING and progress.step != FINISHED:
            pipe.zadd(CERT_PENDING_INDEX, {key: progress.cert.since or progress.last_seen})
        else:
            pipe.zrem(CERT_PENDING_INDEX, key)

    def delete(self, user_key: str, step: int) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(progress_key(user_key))
        pipe.zrem(USERS_INDEX, user_key)
        pipe.zrem(step_index(step), user_key)
        pipe.zrem(step_since_index(step), user_key)
        pipe.zrem(CERT_PENDING_INDEX, user_key)
        pipe.execute()


class UserLock:
    """A redis-py Lock that can also be released inside the commit's MULTI (one round trip fewer)."""

    def __init__(self, lock: redis.lock.Lock) -> None:
        self.lock = lock
        self.released = False

    def release_in(self, pipe) -> None:
        token = self.lock.local.token
        if token is not None:
            self.lock.lua_release(keys=[self.lock.name], args=[token], client=pipe)
            self.released = True

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        with suppress(redis.exceptions.LockError):  # expired while we worked: the TTL freed it
            self.lock.release()


def encode_event(user_key: str, event: Event) -> str:
    return json.dumps({"user": user_key, "kind": event.kind, "data": event.data}, ensure_ascii=False)


def decode_event(raw: str) -> tuple[str, Event]:
    data = json.loads(raw)
    return data["user"], Event(data["kind"], data.get("data") or {})
