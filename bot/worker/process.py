"""``python -m bot worker``: the one process that runs reminders and drains the outbox.

Every worker polls for the leader lock (``bot.worker.leader``); only the holder starts an
APScheduler (Redis job store), consumes ``{wb}:events`` (``bot.worker.event_reader``) and runs the sender
threads. A standby never builds a scheduler at all, so it cannot run a job, and takes over within
about LEADER_TTL seconds of the leader's death (kill -9 included).
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Callable

import redis

from bot.cli.process import settings_or_report, stop_on_signals
from bot.cli.progname import program
from bot.config import Settings
from bot.outbound.config import SenderConfig
from bot.outbound.sender import Sender
from bot.wiring.services import build_core, wecom_api
from bot.worker.event_reader import EventConsumer
from bot.worker.leader import Heartbeat, LeaderLock, worker_identity
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.jobs import install
from bot.worker.reminders.planning import Planner
from bot.worker.scheduler import build_scheduler, redis_job_store

log = logging.getLogger(__name__)


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
        if not self.reminders.group_notices:
            log.info("group notices off: %s", "GROUP_NOTICES=false" if self.settings.group_notices is False else
                     "they go only to a group the user wrote in, and no long connection can reach one")
        else:
            log.info("group notices go only to a group the user wrote in: none for users who write privately")
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
                scheduler.shutdown(wait=graceful, guard=ctx.lock)  # graceful: let running jobs confirm first
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
    parser = argparse.ArgumentParser(prog=program("worker"), description="run reminders and the outbox")
    parser.parse_args(argv)
    settings = settings_or_report()
    if settings is None:
        return 2
    from bot.wiring.services import redis_client

    worker = Worker(settings, redis_client(settings))
    stop_on_signals(worker.stop)
    return worker.run()
