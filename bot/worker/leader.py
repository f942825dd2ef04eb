"""Leader election for the scheduler worker: one Redis lock with a TTL, renewed by a heartbeat.

APScheduler 3 cannot share a job store between running schedulers (duplicate or missed runs), so
exactly one worker may run jobs. The holder renews the lock well before its TTL runs out; when the
holder dies (even by kill -9) the lock simply expires and a standby, polling every second or so,
takes it. The lock is the bot's one lock style (``bot.core.locking.RedisLock``): renewal and release are
compare-and-set scripts, so a worker that lost the lock (paused, partitioned) can never extend or
delete its successor's lock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

import redis

from bot.core.keys import EPOCH_KEY, LEADER_KEY
from bot.core.locking import RedisLock

log = logging.getLogger(__name__)



def worker_identity() -> str:
    """host:pid:random — unique per process start, readable in ``redis-cli GET {wb}:worker:leader``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLock(RedisLock):
    """The bot's one lock (``bot.core.locking``) held under the worker's identity, plus an epoch per takeover.

    Kept apart from a user's lock only by what leadership needs on top: a readable holder, a TTL of
    at least a second (the heartbeat renews every third of it) and the fencing epoch.
    """

    def __init__(self, client: redis.Redis, identity: str, ttl: float = 6.0, key: str = LEADER_KEY,
                 epoch_key: str = EPOCH_KEY) -> None:
        super().__init__(client, key, max(ttl, 1.0), token=identity)
        self.identity = identity
        self.epoch_key = epoch_key
        self.epoch: int | None = None

    def try_acquire(self) -> bool:
        if not super().try_acquire():
            return False
        self.epoch = int(self.client.incr(self.epoch_key))
        log.info("leadership acquired by %s (epoch %s)", self.identity, self.epoch)
        return True


class Heartbeat(threading.Thread):
    """Renews the lock every ttl/3; calls ``on_lost`` once when it can no longer be sure it leads.

    A failed renewal from a Redis error is retried until the last good renewal is older than 80%
    of the TTL: past that point a standby may already have taken over, so we must stop at once.
    """

    def __init__(self, lock: LeaderLock, on_lost: Callable[[], None]) -> None:
        super().__init__(name="leader-heartbeat", daemon=True)
        self.lock = lock
        self.on_lost = on_lost
        self.interval = lock.ttl_ms / 3000
        self._stop = threading.Event()

    def run(self) -> None:
        last_ok = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                if self.lock.renew():
                    last_ok = time.monotonic()
                    continue
                log.error("leadership lost: the lock now belongs to %s", self.lock.holder())
            except redis.RedisError as exc:
                if time.monotonic() - last_ok < 0.8 * self.lock.ttl_ms / 1000:
                    log.warning("heartbeat failed, retrying: %s", exc)
                    continue
                log.error("leadership lost: no renewal for too long (%s)", exc)
            self.on_lost()
            return

    def stop(self) -> None:
        self._stop.set()
