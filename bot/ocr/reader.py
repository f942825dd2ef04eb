"""``python -m bot ocr``: the process that reads screenshots, with a bounded pool and the model loaded once.

It reads ``wb:events`` in its own consumer group (``wb:ocr``; the worker's group is untouched), takes
only ``image_received`` events and acknowledges the rest at once. At most ``OCR_CONCURRENCY`` images are
read at a time. What was read is handed off, redacted, to the web processes, which answer it
(bot.ocr.handoff, bot.ocr.answers): this process holds the OCR model and nothing of the answering
services. The hand-off and the event's acknowledgement are one MULTI, so an image whose reader died
before handing it off is claimed again (XAUTOCLAIM) by the next reader, and one handed off is not read
again. Several OCR processes share the group: each image goes to one of them.

The picture is held in memory only while it is read (seconds) and never written anywhere; the event
keeps its download reference (a media_id, or a URL WeCom lets expire after 5 minutes) until the events
stream is trimmed. Only the redacted text reaches Redis (the hand-off, then the conversation log), like
typed text.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol, cast

import redis

from bot.channels.app.protocol import TRANSPORT as APP_TRANSPORT
from bot.channels.kf.api import KfAPI
from bot.cli.process import settings_or_report, stop_on_signals
from bot.cli.progname import program
from bot.config import Settings, kf_configured
from bot.core.keys import OCR_GROUP
from bot.core.store import EVENTS_STREAM, decode_event
from bot.infra import redis_conn
from bot.ocr import RECEIVED
from bot.ocr.engine import Engine, Reading
from bot.ocr.fetch import Fetcher, ImageRef
from bot.ocr.handoff import TextRead, hand_off
from bot.ocr.images import BadImage, Limits, decode

log = logging.getLogger(__name__)

CLAIM_IDLE_FACTOR = 3  # an entry pending this many OCR_TIMEOUTs belongs to a reader that died
SKIP_BATCH = 100  # entries read at once: images wait for a free slot (the semaphore), others are acked
STALE_FACTOR = 12  # older than this many OCR_MAX_AGEs (an hour by default): skipped without a word


class Reader(Protocol):
    def read(self, rgb: Any) -> Reading: ...


class Source(Protocol):
    def fetch(self, ref: ImageRef) -> bytes: ...


@dataclass(frozen=True)
class Job:
    entry_id: str
    user_key: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    text: str = ""
    confidence: float = 0.0
    bad: str | None = None
    seconds: float = 0.0


class OcrWorker:
    def __init__(self, settings: Settings, client: redis.Redis, engine: Reader, fetcher: Source, *,
                 clock: Callable[[], float] = time.time, consumer: str | None = None) -> None:
        self.settings = settings
        self.redis = client
        self.engine = engine
        self.fetcher = fetcher
        self.clock = clock
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}"
        self.limits = Limits(max_bytes=settings.ocr_max_bytes, max_pixels=settings.ocr_max_pixels)
        self.concurrency = settings.ocr_concurrency
        self.slots = threading.BoundedSemaphore(self.concurrency)
        self.jobs = ThreadPoolExecutor(self.concurrency, thread_name_prefix="ocr-job")
        self.readers = ThreadPoolExecutor(self.concurrency, thread_name_prefix="ocr-read")
        self._stop = threading.Event()

    # -- the loop -------------------------------------------------------------------------------------------
    def ensure_group(self) -> None:
        # from the start: an image sent while no OCR process ran yet is still answered (or skipped if stale)
        redis_conn.ensure_group(self.redis, EVENTS_STREAM, OCR_GROUP)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        log.info("OCR reader %s started (concurrency %d)", self.consumer, self.concurrency)
        ready = False
        while not self._stop.is_set():
            try:
                if not ready:
                    self.ensure_group()
                    ready = True
                self.poll(block_ms=1000)
            except redis.RedisError as exc:
                log.error("redis unavailable: %s", exc)
                ready = ready and "NOGROUP" not in str(exc)  # the stream was lost (a Redis without its data)
                self._stop.wait(1.0)
        self.jobs.shutdown(wait=True)
        self.readers.shutdown(wait=False)
        return 0

    def poll(self, block_ms: int | None = 1000) -> list[Future]:
        """Start reading the next images (claimed ones first); returns their futures (tests wait on them)."""
        idle_ms = int(self.settings.ocr_timeout * CLAIM_IDLE_FACTOR * 1000)
        claimed = self.redis.xautoclaim(EVENTS_STREAM, OCR_GROUP, self.consumer, min_idle_time=idle_ms,
                                        start_id="0-0", count=self.concurrency)
        entries = list(claimed[1])
        futures: list[Future] = []
        if entries:
            return self._start(entries)
        while not futures:  # other events (most of the stream) are acknowledged and skipped in bulk
            reply = cast(list[Any], self.redis.xreadgroup(OCR_GROUP, self.consumer, {EVENTS_STREAM: ">"},
                                                          count=SKIP_BATCH, block=block_ms))
            entries = [e for _stream, batch in (reply or []) for e in batch]
            if not entries:
                break
            futures = self._start(entries)
            block_ms = None
        return futures

    def _start(self, entries: list) -> list[Future]:
        futures = []
        for entry_id, fields in entries:
            job = self._job(entry_id, fields)
            stale = STALE_FACTOR * self.settings.ocr_max_age
            if job is not None and self.clock() - float(job.data.get("at") or 0) > stale:
                job = None  # a backlog from long ago: "expired" would be noise by now
            if job is None:
                self.redis.xack(EVENTS_STREAM, OCR_GROUP, entry_id)
                continue
            self.slots.acquire()  # at most OCR_CONCURRENCY images in hand: the rest wait in the stream
            future = self.jobs.submit(self._run, job)
            future.add_done_callback(lambda _f: self.slots.release())
            futures.append(future)
        return futures

    @staticmethod
    def _job(entry_id: Any, fields: dict | None) -> Job | None:
        if not fields or "event" not in fields:
            return None
        try:
            user_key, event = decode_event(fields["event"])
        except (ValueError, KeyError, TypeError):
            return None
        job = event.data.get("_job") if event.kind == RECEIVED else None
        return Job(str(entry_id), user_key, job) if isinstance(job, dict) else None

    def _run(self, job: Job) -> None:
        try:
            self.hand_off(job)
        except redis.RedisError:
            log.exception("redis failed while handing off image %s; it stays pending", job.entry_id)
        except Exception:  # a bug must not leave the image pending forever
            log.exception("reading image %s failed", job.entry_id)
            self.redis.xack(EVENTS_STREAM, OCR_GROUP, job.entry_id)

    # -- one image ------------------------------------------------------------------------------------------
    def hand_off(self, job: Job) -> None:
        """Read the job's picture and hand the redacted text to the answerers (bot.ocr.answers)."""
        data = job.data
        outcome = self.read(data)
        hand_off(self.redis, TextRead.of(job.user_key, data, outcome.text, outcome.confidence, outcome.bad,
                                         outcome.seconds), job.entry_id)
        log.info("image %s/%s read in %.2f s (confidence %.2f%s)", data.get("transport") or APP_TRANSPORT,
                 data.get("msg_id"), outcome.seconds, outcome.confidence, f", {outcome.bad}" if outcome.bad else "")

    def read(self, data: dict[str, Any]) -> Outcome:
        """The text in the job's picture, or why there is none. Never raises for a bad picture."""
        started = time.monotonic()
        ref = ImageRef.from_json(data.get("image"))
        if ref is None:
            return Outcome(bad="unavailable")
        if self.clock() - float(data.get("at") or 0) > self.settings.ocr_max_age:
            return Outcome(bad="expired")
        try:
            rgb = decode(self.fetcher.fetch(ref), self.limits)
            future = self.readers.submit(self.engine.read, rgb)
            reading = future.result(timeout=max(0.1, self.settings.ocr_timeout - (time.monotonic() - started)))
        except BadImage as exc:
            log.info("image not read: %s", exc)
            return Outcome(bad=exc.reason, seconds=time.monotonic() - started)
        except FutureTimeout:
            return Outcome(bad="timeout", seconds=time.monotonic() - started)
        return Outcome(reading.text, reading.confidence, None, time.monotonic() - started)


def build(settings: Settings, client: redis.Redis | None = None, engine: Reader | None = None) -> OcrWorker:
    """The OCR process's parts, from the composition root: Redis, the WeCom clients, the model (no answering
    services: the web processes answer what it reads)."""
    from bot.wiring.services import redis_client, wecom_api

    client = client if client is not None else redis_client(settings)
    kf_api = KfAPI.from_settings(settings, client).api if kf_configured(settings) else None
    fetcher = Fetcher(wecom_api(settings, client), max_bytes=settings.ocr_max_bytes, timeout=settings.http_timeout,
                      bot_aes_key=settings.aibot.encoding_aes_key or None, kf_api=kf_api)
    return OcrWorker(settings, client, engine or Engine(settings.ocr_threads), fetcher)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program("ocr"),
                                     description="read screenshots users send (OCR_CONCURRENCY at a time)")
    parser.parse_args(argv)
    settings = settings_or_report()
    if settings is None:
        return 2
    worker = build(settings)
    stop_on_signals(worker.stop)
    return worker.run()
