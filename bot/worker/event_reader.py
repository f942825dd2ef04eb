"""The leader's reader of ``{wb}:events``: a consumer group, each event handed to the reminders planner.

Web processes only append to ``{wb}:events`` (``Store.commit``); the leader reads them with a consumer
group, applies each to the job store (``bot.worker.reminders.planning.Planner``) and XACKs it after
that write. Entries read but not acknowledged by a leader that died stay pending in the group; a
new leader claims them all (XAUTOCLAIM) before reading new ones, so nothing is lost, and planning
is idempotent (deterministic job ids, ``replace_existing``), so nothing is done twice.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import redis

from bot.core.keys import EVENTS_GROUP
from bot.core.store import EVENTS_STREAM, decode_event
from bot.infra import redis_conn
from bot.worker.reminders.planning import Planner

log = logging.getLogger(__name__)


class EventConsumer:
    """Reads ``{wb}:events`` in the ``wb:worker`` consumer group (a name) and hands each event to the planner."""

    def __init__(self, client: redis.Redis, planner: Planner, consumer: str, batch: int = 200) -> None:
        self.redis = client
        self.planner = planner
        self.consumer = consumer
        self.batch = batch

    def ensure_group(self) -> None:
        redis_conn.ensure_group(self.redis, EVENTS_STREAM, EVENTS_GROUP)  # events before any worker ran count

    def recover(self) -> int:
        """Claim and apply every entry another (dead) consumer read but never acknowledged."""
        handled, cursor = 0, "0-0"
        while True:
            reply = self.redis.xautoclaim(EVENTS_STREAM, EVENTS_GROUP, self.consumer, min_idle_time=0,
                                          start_id=cursor, count=self.batch)
            cursor, entries = reply[0], reply[1]
            deleted = reply[2] if len(reply) > 2 else []
            if deleted:  # trimmed from the stream while pending: nothing left to apply
                self.redis.xack(EVENTS_STREAM, EVENTS_GROUP, *deleted)
            handled += self._apply(entries)
            if cursor in ("0-0", b"0-0"):
                break
        self._forget_idle_consumers()
        if handled:
            log.warning("re-applied %d event(s) a previous worker had not acknowledged", handled)
        return handled

    def poll(self, block_ms: int | None = 1000) -> int:
        """Apply the next batch of new events; with ``block_ms`` wait that long for one to arrive."""
        reply = cast(list[Any], self.redis.xreadgroup(  # RESP2 (our clients): [[stream, entries]] or None
            EVENTS_GROUP, self.consumer, {EVENTS_STREAM: ">"}, count=self.batch, block=block_ms))
        return sum(self._apply(entries) for _stream, entries in (reply or []))

    def _apply(self, entries: list) -> int:
        ids = []
        for entry_id, fields in entries:
            if fields is None:
                ids.append(entry_id)
                continue
            try:
                user_key, event = decode_event(fields["event"])
                when = int(str(entry_id).split("-")[0]) / 1000.0
                self.planner.handle(user_key, event, str(entry_id), when)
            except redis.RedisError:
                raise  # not acknowledged: stays pending, re-applied by recover()
            except Exception:  # a malformed event must not block the stream forever
                log.exception("could not apply event %s; skipping it", entry_id)
            ids.append(entry_id)
        if ids:
            self.redis.xack(EVENTS_STREAM, EVENTS_GROUP, *ids)
        return len(ids)

    def _forget_idle_consumers(self) -> None:
        for info in self.redis.xinfo_consumers(EVENTS_STREAM, EVENTS_GROUP):
            if info["name"] != self.consumer and int(info["pending"]) == 0:
                self.redis.xgroup_delconsumer(EVENTS_STREAM, EVENTS_GROUP, info["name"])
