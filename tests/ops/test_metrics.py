"""/metrics: Redis-backed counters that agree across processes, scraped in Prometheus text format."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import load_settings
from bot.core import keys
from bot.core.keys import DEAD_LETTERS
from bot.core.progress import Progress
from bot.core.records import Event
from bot.core.store import Store
from bot.infra import metrics
from bot.infra.redis_conn import connect
from bot.outbound.entry import APP, OutboxMessage
from bot.outbound.queue import add as outbox_add
from bot.web.app import create_app
from tests.support.environment import TEST_CORP_ID, make_env

ALICE = f"{TEST_CORP_ID}:alice"


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """The exposition parsed into {(sample name, sorted labels): value}."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_callbacks_counted_by_transport_and_outcome_with_latency(client, say, app_sim):
    say("开始")
    say("状态")
    bad = app_sim.text("alice", "hi")
    assert client.post("/wecom/callback", query_string={**bad.query, "msg_signature": "0" * 40},
                       data=bad.body).status_code in (400, 403)
    assert client.post("/wecom/aibot", data=b"{}").status_code >= 400
    client.get("/healthz")  # not a callback: not counted
    samples = scrape(client)
    assert value(samples, "weda_callbacks_total", transport="app", outcome="2xx") == 2
    assert value(samples, "weda_callbacks_total", transport="app", outcome="4xx") == 1
    assert value(samples, "weda_callbacks_total", transport="aibot", outcome="4xx") == 1
    assert value(samples, "weda_callback_duration_seconds_count", transport="app") == 3
    assert value(samples, "weda_callback_duration_seconds_bucket", transport="app", le="+Inf") == 3
    assert 0 < value(samples, "weda_callback_duration_seconds_sum", transport="app") < 30
    buckets = [value(samples, "weda_callback_duration_seconds_bucket", transport="app", le=str(b))
               for b in metrics.BUCKETS]
    assert buckets == sorted(buckets)  # cumulative


def test_several_processes_add_up_to_one_total(tmp_path, redis_client, clock, app_sim):
    """Two app instances stand for two gunicorn workers: each exposes the global counts.

    Each buffers its own counts; the idle one's timer flushes them within the interval.
    """
    settings = load_settings(make_env(tmp_path, METRICS_FLUSH_SECONDS="0.2"))
    workers = [create_app(settings, client=redis_client, clock=clock).test_client() for _ in range(2)]
    for i, worker in enumerate(workers * 3):
        callback = app_sim.text(f"user{i}", "开始")
        assert worker.post("/wecom/callback", query_string=callback.query, data=callback.body).status_code == 200
    deadline = time.monotonic() + 3
    while value(scrape(workers[0]), "weda_callbacks_total", transport="app", outcome="2xx") < 6:
        assert time.monotonic() < deadline, "the other worker's counts were never flushed"
        time.sleep(0.05)
    for worker in workers:
        samples = scrape(worker)
        assert value(samples, "weda_callbacks_total", transport="app", outcome="2xx") == 6
        assert value(samples, "weda_users", step="1") == 6


def test_counts_are_buffered_per_process_and_flushed_by_a_scrape(tmp_path, redis_client, clock, app_sim):
    settings = load_settings(make_env(tmp_path, METRICS_FLUSH_SECONDS="60"))
    client = create_app(settings, client=redis_client, clock=clock).test_client()
    for i in range(3):
        callback = app_sim.text(f"user{i}", "开始")
        client.post("/wecom/callback", query_string=callback.query, data=callback.body)
    assert redis_client.hgetall(keys.METRICS_CALLBACKS) == {}  # buffered in this process
    assert value(scrape(client), "weda_callbacks_total", transport="app", outcome="2xx") == 3


def test_a_failed_flush_keeps_the_counts(redis_client):
    clients = [connect("redis://127.0.0.1:1/0", socket_timeout=0.2), redis_client]
    recorder = metrics.CallbackRecorder(lambda: clients[0], interval=3600)
    recorder.record("app", 200, 0.01)
    recorder.record("app", 503, 0.5)
    recorder.flush()  # Redis down: nothing lost
    clients.pop(0)
    recorder.flush()
    assert redis_client.hgetall(keys.METRICS_CALLBACKS) == {"app|2xx": "1", "app|5xx": "1"}
    assert redis_client.hget(keys.METRICS_LATENCY, "app|0.01") == "1"
    assert float(redis_client.hget(keys.METRICS_LATENCY, "app|sum")) == pytest.approx(0.51)


def save_with_events(store, user: str, kinds: list[str]) -> None:
    p = store.load(f"{TEST_CORP_ID}:{user}") or Progress.new(TEST_CORP_ID, user, 1.0)
    store.save(p, p.step, [Event(kind, {"text": "问题"} if kind == "faq_unsure" else {}) for kind in kinds])


def test_faq_and_reminder_counts_come_from_the_event_stream_once(client, runtime):
    store = runtime.services.store
    save_with_events(store, "a", ["faq_answered", "faq_answered", "faq_unsure"])
    save_with_events(store, "b", ["reminder_scheduled", "reminder_sent"])
    metrics.count_event(store.redis, "reminder_failed")  # a producer that does not write the stream
    first = scrape(client)
    assert value(first, "weda_faq_total", result="answered") == 2
    assert value(first, "weda_faq_total", result="unsure") == 1
    assert value(first, "weda_reminders_total", result="scheduled") == 1
    assert value(first, "weda_reminders_total", result="sent") == 1
    assert value(first, "weda_reminders_total", result="failed") == 1
    assert value(first, "weda_events_total", kind="faq_answered") == 2
    assert scrape(client) == first  # scraping again counts nothing twice
    save_with_events(store, "a", ["faq_unsure"])
    assert value(scrape(client), "weda_faq_total", result="unsure") == 2


def test_concurrent_folds_never_double_count(redis_client, runtime):
    store = runtime.services.store
    for i in range(300):
        save_with_events(store, f"u{i}", ["faq_answered"])
    threads = [threading.Thread(target=metrics.fold_events, args=(redis_client,), kwargs={"batch": 7})
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(redis_client.hget(keys.METRICS_EVENT_COUNTS, "faq_answered")) == 300


def test_fold_survives_odd_stream_entries(redis_client):
    redis_client.xadd("{wb}:events", {"event": "not json"})
    redis_client.xadd("{wb}:events", {"other": "x"})
    redis_client.xadd("{wb}:events", {"event": '{"kind": "faq_answered"}'})
    assert metrics.fold_events(redis_client) == 3
    assert redis_client.hgetall(keys.METRICS_EVENT_COUNTS) == {"unknown": "1", "faq_answered": "1"}


def test_outbox_depth_and_dead_letters_are_gauges(client, redis_client):
    for i in range(3):
        outbox_add(redis_client, OutboxMessage(APP, f"m{i}", to_user="a"))
    redis_client.lpush(DEAD_LETTERS, OutboxMessage(APP, "dead", to_user="a").to_json())
    samples = scrape(client)
    assert value(samples, "weda_outbox_depth") == 3
    assert value(samples, "weda_outbox_dead_letters") == 1
    assert value(samples, "weda_redis_up") == 1


def test_redis_down_is_reported_not_a_500():
    dead = connect("redis://127.0.0.1:1/0", socket_timeout=0.2)
    families = list(metrics.RedisCollector(lambda: dead).collect())
    assert [(f.name, f.samples[0].value) for f in families] == [("weda_redis_up", 0)]


def test_metrics_token_when_configured(tmp_path, redis_client, clock):
    settings = load_settings(make_env(tmp_path, METRICS_TOKEN="scrape-me"))
    client = create_app(settings, client=redis_client, clock=clock).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert "weda_redis_up 1.0" in client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).text


@pytest.mark.parametrize(("path", "transport"), [("/wecom/callback", "app"), ("/wecom/aibot", "aibot"),
                                                 ("/wecom/aibot/x", "aibot"), ("/wecom/callbackx", None),
                                                 ("/admin/", None), ("/metrics", None)])
def test_transport_from_path(path, transport):
    assert metrics.transport_of(path) == transport


def test_recording_never_breaks_a_callback_when_redis_fails(settings, clock, app_sim):
    """The callback itself degrades (busy reply); the metrics hook must not turn that into a 500."""
    app = create_app(settings, client=connect("redis://127.0.0.1:1/0", socket_timeout=0.2), clock=clock)
    callback = app_sim.text("alice", "开始")
    response = app.test_client().post("/wecom/callback", query_string=callback.query, data=callback.body)
    assert response.status_code == 200


def test_scheduling_a_reminder_is_counted(settings, redis_client, clock):
    from bot.core.guide import Guide
    from bot.core.render import Renderer
    from bot.worker.reminders.config import ReminderConfig
    from bot.worker.reminders.context import ReminderContext
    from bot.worker.reminders.jobs import IDLE, schedule
    from bot.worker.scheduler import build_scheduler, redis_job_store

    scheduler = build_scheduler(redis_job_store(redis_client))
    scheduler.start(paused=True)
    try:
        ctx = ReminderContext(ReminderConfig.from_settings(settings), settings, Store(redis_client),
                              Renderer(settings.templates_dir), Guide.load(settings.guide_file), scheduler=scheduler,
                              clock=clock)
        schedule(ctx, IDLE, ALICE, {"step": 1, "at": clock(), "stage": 0, "due": clock() + 60})
        schedule(ctx, IDLE, ALICE, {"step": 1, "at": clock(), "stage": 0, "due": clock() - 10 * 86400})  # too old
    finally:
        scheduler.shutdown(wait=False)
    assert redis_client.hgetall(keys.METRICS_EVENT_COUNTS) == {"reminder_scheduled": "1"}
