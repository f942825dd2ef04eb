"""``python -m bot worker``: the one process that runs reminders and drains the outbox.

Every worker polls for the leader lock (``bot.leader``); only the holder starts an APScheduler
(Redis job store), consumes ``wb:events`` and runs the sender threads. A standby never builds a
scheduler at all, so it cannot run a job, and takes over within about LEADER_TTL seconds of the
leader's death (kill -9 included).

Events: web processes only append to ``wb:events`` (``Store.commit``); the leader reads them with
a consumer group, applies each to the job store (``bot.reminders.Planner``) and XACKs it after
that write. Entries read but not acknowledged by a leader that died stay pending in the group; a
new leader claims them all (XAUTOCLAIM) before reading new ones, so nothing is lost, and planning
is idempotent (deterministic job ids, ``replace_existing``), so nothing is done twice.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable

import redis

from bot.config import ConfigError, Settings, load_settings
from bot.keys import EVENTS_GROUP
from bot.leader import Heartbeat, LeaderLock, worker_identity
from bot.outbound.config import SenderConfig
from bot.outbound.sender import Sender
from bot.reminders import Planner, ReminderConfig, ReminderContext, install
from bot.scheduler import build_scheduler, redis_job_store
from bot.services import build_core, wecom_api
from bot.store import EVENTS_STREAM, decode_event

log = logging.getLogger(__name__)


class EventConsumer:
    """Reads ``wb:events`` in the ``wb:worker`` consumer group and hands each event to the planner."""

    def __init__(self, client: redis.Redis, planner: Planner, consumer: str, batch: int = 200) -> None:
        self.redis = client
        self.planner = planner
        self.consumer = consumer
        self.batch = batch

    def ensure_group(self) -> None:
        try:  # from the start of the stream: events written before any worker ever ran still count
            self.redis.xgroup_create(EVENTS_STREAM, EVENTS_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

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
        reply = self.redis.xreadgroup(EVENTS_GROUP, self.consumer, {EVENTS_STREAM: ">"}, count=self.batch,
                                      block=block_ms)
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


class Worker:
    def __init__(self, settings: Settings, client: redis.Redis, *, clock: Callable[[], float] = time.time,
                 identity: str | None = None) -> None:
        self.settings = settings
        self.redis = client
        self.clock = clock
        self.identity = identity or worker_identity()
        self.reminders = ReminderConfig.from_settings(settings)
        self.sender_config = SenderConfig.from_settings(settings)
        core = build_core(settings, client)  # as the web process builds them (USER_LOCK_WAIT_SECONDS too)
        self.store, self.renderer, self.guide = core.store, core.renderer, core.guide
        self.lock = LeaderLock(client, self.identity, ttl=settings.leader_ttl)
        self.poll_interval = settings.leader_poll
        self.job_threads = settings.worker_threads
        self.sender_threads = settings.sender_threads
        self.leading = threading.Event()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        log.info("worker %s started; waiting for leadership", self.identity)
        while not self._stop.is_set():
            try:
                acquired = self.lock.try_acquire()
            except redis.RedisError as exc:
                log.error("redis unavailable: %s", exc)
                self._stop.wait(self.poll_interval)
                continue
            if not acquired:
                self._stop.wait(self.poll_interval)
                continue
            try:
                self._lead()
            except Exception:
                log.exception("leader loop failed; stepping down")
                self._stop.wait(self.poll_interval)
        log.info("worker %s stopped", self.identity)
        return 0

    def _lead(self) -> None:
        lost = threading.Event()

        def on_lost() -> None:
            self.leading.clear()
            lost.set()

        self.leading.set()
        heartbeat = Heartbeat(self.lock, on_lost)
        heartbeat.start()
        scheduler = build_scheduler(redis_job_store(self.redis), threads=self.job_threads,
                                    grace=self.reminders.grace)
        ctx = ReminderContext(self.reminders, self.settings, self.store, self.renderer, self.guide,
                              scheduler=scheduler, clock=self.clock, leading=self.leading.is_set)
        install(ctx)
        api = wecom_api(self.settings, self.redis)
        sender = Sender(self.store, api, self.settings, self.sender_config, clock=self.clock,
                        leading=self.leading.is_set, identity=self.identity)
        consumer = EventConsumer(self.redis, Planner(ctx), self.identity)
        stop_senders = threading.Event()
        threads: list[threading.Thread] = []
        try:
            sender.recover()
            consumer.ensure_group()
            scheduler.start()
            consumer.recover()
            for n in range(self.sender_threads):
                thread = threading.Thread(target=sender.run, args=(stop_senders,), name=f"sender-{n}", daemon=True)
                thread.start()
                threads.append(thread)
            log.info("worker %s is leading (epoch %s)", self.identity, self.lock.epoch)
            needs_recovery = False
            sweep_every = self.sender_config.sweep_interval
            next_sweep = time.monotonic() + sweep_every
            poll_ms = max(50, int(min(1.0, sweep_every or 1.0) * 1000))  # never 0: that blocks forever
            while not self._stop.is_set() and not lost.is_set():
                try:
                    if needs_recovery:
                        consumer.recover()
                        needs_recovery = False
                    if sweep_every > 0 and time.monotonic() >= next_sweep:
                        next_sweep = time.monotonic() + sweep_every
                        sender.sweep()  # messages a sender stranded in processing while it was alive
                    consumer.poll(block_ms=poll_ms)
                except redis.RedisError as exc:
                    log.error("event stream: %s", exc)
                    needs_recovery = True
                    lost.wait(1.0)
        finally:
            graceful = not lost.is_set()
            if scheduler.running:
                scheduler.shutdown(wait=graceful)  # graceful: let running jobs confirm first
            self.leading.clear()
            stop_senders.set()
            for thread in threads:
                thread.join(timeout=self.sender_config.http_timeout + 2)
            heartbeat.stop()
            install(None)
            if graceful:
                try:
                    sender.recover()
                finally:
                    self.lock.release()
            log.info("worker %s stopped leading", self.identity)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot worker", description="run reminders and the outbox")
    parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from bot.logs import configure as configure_logging
    from bot.services import redis_client

    configure_logging(settings.log_level)

    worker = Worker(settings, redis_client(settings))

    def stop(_signum, _frame) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return worker.run()
