"""Review fixes on the outbound side: card clicks that got a transient reply, private continuations,
response_url failures, stranded processing entries, reminder metrics, UTF-8 truncation, the worker's
Redis client."""

from __future__ import annotations

import json
import threading
import time

import pytest
import redis
import requests

from bot import metrics
from bot.config import load_settings
from bot.messages import Button, Outgoing, Reply
from bot.outbox import APP, DEAD_LETTERS, OUTBOX_QUEUE, WEBHOOK, OutboxMessage
from bot.outbox import add as outbox_add
from bot.progress import Progress
from bot.render import TEXT
from bot.sender import CLAIM_PREFIX, DELAYED, PROCESSING, SENT_PREFIX, Sender
from bot.store import Store, lock_key
from bot.textsplit import split_utf8, truncate_utf8, utf8_len
from bot.wecom.aibot_callback import answered_key
from bot.wecom.aibot_simulate import AibotSimulator
from tests.fake_wecom import FakeWeCom
from tests.outbound.test_sender import make_sender
from tests.support import TEST_CORP_ID, make_env

ALICE = f"{TEST_CORP_ID}:alice"


@pytest.fixture
def wecom(clock):
    with FakeWeCom(clock=clock) as server:
        yield server


@pytest.fixture
def full_settings(tmp_path, wecom):
    return load_settings(make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="app-secret",
                                  WECOM_WEBHOOK_KEY=wecom.webhook_key, WECOM_HTTP_TIMEOUT="0.5"))


@pytest.fixture
def sender(full_settings, redis_client, clock) -> Sender:
    return make_sender(full_settings, redis_client, clock)


def give_response_url(client, clock, url: str, user: str = "alice") -> None:
    store = Store(client)
    progress = store.load(f"{TEST_CORP_ID}:{user}") or Progress.new(TEST_CORP_ID, user, clock())
    progress.response_url, progress.response_url_expires = url, clock() + 3000
    store.save(progress, None)


def reminder(text: str = "**提醒**", user: str = "alice", **meta) -> OutboxMessage:
    return OutboxMessage(APP, text, to_user=user, fmt="markdown",
                         meta={"plain": text.replace("**", ""), "user_key": f"{TEST_CORP_ID}:{user}",
                               "kind": "reminder_idle", **meta})


# -- 1. a card click answered with a transient system reply ----------------------------------------
def test_a_busy_click_spends_nothing_and_its_retry_gets_the_answer(client, settings, clock, runtime, redis_client):
    sim = AibotSimulator(settings.aibot, clock=clock)
    runtime.services.store.lock_wait = 0.2
    url = sim.response_url()
    click = sim.event("gus", "template_card_event", chat_id="grp-1", response_url=url,
                      card_type="button_interaction", event_key="status", task_id="wbt-1")
    redis_client.set(lock_key(f"{TEST_CORP_ID}:gus"), "another-message", px=10_000)

    busy = client.post("/wecom/aibot", query_string=click.query, data=click.body)
    assert busy.status_code == 503  # not a 200: WeCom sends the callback again
    assert redis_client.llen(OUTBOX_QUEUE) == 0  # the one-time response_url is not spent on an apology
    assert not redis_client.keys(answered_key("*"))  # no "answered" guard: the retry may answer

    redis_client.delete(lock_key(f"{TEST_CORP_ID}:gus"))
    retry = client.post("/wecom/aibot", query_string=click.query, data=click.body)
    assert retry.status_code == 200
    update = sim.open_reply_json(retry.get_data())
    assert update["response_type"] == "update_template_card"
    [answer] = [json.loads(raw) for raw in redis_client.lrange(OUTBOX_QUEUE, 0, -1)]
    assert answer["url"] == url and "系统繁忙" not in answer["text"]


def test_the_card_title_is_in_the_replys_language_not_guessed_from_its_text(runtime):
    callback = runtime.aibot_callback
    renderer = runtime.services.renderer
    outgoing = Outgoing("步骤 WeDa 小程序", buttons=(Button("done", "Done"),), lang="en")
    card = callback._card("wbt-2", outgoing)
    assert card["main_title"]["title"] == renderer.render(Reply("aibot_card_title"), "en", TEXT)
    assert card["main_title"]["title"] != renderer.render(Reply("aibot_card_title"), "zh", TEXT)


# -- 2. private continuations ---------------------------------------------------------------------
@pytest.mark.parametrize("meta", [{"continues": "m1", "private": True}, {"continues": "m2", "private": False},
                                  {"private": True}])
def test_a_private_or_continued_message_goes_only_through_the_app(sender, redis_client, wecom, clock, meta):
    give_response_url(redis_client, clock, wecom.response_url("group-url"))
    outbox_add(redis_client, OutboxMessage(APP, "rest of the reply", to_user="alice", meta=meta))
    assert sender.drain() == ["sent"]
    assert [r.content for r in wecom.delivered("message/send")] == ["rest of the reply"]
    assert wecom.calls("response") == [] and wecom.calls("webhook/send") == []
    assert Store(redis_client).load(ALICE).response_url == wecom.response_url("group-url")  # not spent on it


def test_a_private_message_without_an_app_secret_is_a_dead_letter_not_a_group_post(tmp_path, redis_client,
                                                                                     wecom, clock):
    settings = load_settings(make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_WEBHOOK_KEY=wecom.webhook_key))
    give_response_url(redis_client, clock, wecom.response_url("group-url"))
    outbox_add(redis_client, OutboxMessage(APP, "private text", to_user="alice",
                                           meta={"continues": "m1", "private": True}))
    assert make_sender(settings, redis_client, clock).drain() == ["dead"]
    assert wecom.calls() == []
    dead = OutboxMessage.from_json(redis_client.lindex(DEAD_LETTERS, 0))
    assert "private" in dead.meta["error"] and "WECOM_APP_SECRET" in dead.meta["error"]


def test_a_reminder_may_still_use_the_users_response_url(sender, redis_client, wecom, clock):
    give_response_url(redis_client, clock, wecom.response_url("r"))
    outbox_add(redis_client, reminder("**nudge**"))
    assert sender.drain() == ["sent"]
    assert [r.content for r in wecom.delivered("response")] == ["**nudge**"]


# -- 5. response_url failures ---------------------------------------------------------------------
def test_http_500_on_a_response_url_is_retried_on_the_url_not_sent_by_the_app(sender, redis_client, wecom, clock):
    give_response_url(redis_client, clock, wecom.response_url("r5"))
    wecom.fail("500", count=1, paths=("response",))
    outbox_add(redis_client, reminder("**once**"))
    assert sender.drain() == ["retry"]
    clock.advance(sender.next_delayed_in())
    assert sender.drain() == ["sent"]
    assert [r.content for r in wecom.delivered("response")] == ["**once**"]
    assert wecom.calls("message/send") == []


def test_a_timed_out_post_that_went_through_is_not_sent_again_by_the_app(sender, redis_client, wecom, clock):
    give_response_url(redis_client, clock, wecom.response_url("r6"))
    wecom.fail("slow", count=1, paths=("response",), delay=1.0)  # the client gives up after 0.5 s
    outbox_add(redis_client, reminder("**late**"))
    assert sender.drain() == ["retry"]
    requests.post(wecom.response_url("r6"), json={}, timeout=5)  # as if that attempt had been delivered
    clock.advance(sender.next_delayed_in())
    assert sender.drain() == ["sent"]  # WeCom refuses the URL: only the earlier attempt can have used it
    assert wecom.calls("message/send") == []
    assert [r.errcode for r in wecom.calls("response")][-1] == 600099


def test_a_redis_error_after_the_post_is_retried_and_not_duplicated(sender, redis_client, wecom, clock,
                                                                     monkeypatch):
    give_response_url(redis_client, clock, wecom.response_url("r7"))
    outbox_add(redis_client, reminder("**marker lost**"))
    real_set = redis_client.set
    failures = []

    def flaky_set(name, *args, **kwargs):
        if str(name).startswith(SENT_PREFIX) and ":response_url:" in str(name) and not failures:
            failures.append(name)
            raise redis.ConnectionError("connection reset")
        return real_set(name, *args, **kwargs)

    monkeypatch.setattr(redis_client, "set", flaky_set)
    assert sender.drain() == ["retry"]
    clock.advance(sender.next_delayed_in())
    assert sender.drain() == ["sent"]
    assert len(wecom.delivered()) == 1 and wecom.calls("message/send") == []


def test_a_refused_response_url_still_falls_back_to_the_app(sender, redis_client, wecom, clock):
    requests.post(wecom.response_url("used"), json={}, timeout=5)
    give_response_url(redis_client, clock, wecom.response_url("used"))
    outbox_add(redis_client, reminder("**fallback**"))
    assert sender.drain() == ["retry", "sent"]  # WeCom answered 600099: nothing shown, the app at once
    assert [r.content for r in wecom.delivered("message/send")] == ["fallback"]


# -- 4. stranded processing entries, unexpected errors --------------------------------------------
def test_sweep_returns_entries_whose_claim_ran_out_after_two_sweeps(sender, redis_client, wecom):
    stranded, working = reminder("stranded"), reminder("in flight")
    redis_client.lpush(PROCESSING, stranded.to_json(), working.to_json(), "not json")
    redis_client.set(CLAIM_PREFIX + working.id, "sender-b", px=60_000)
    assert sender.sweep() == 0  # seen unclaimed once: maybe just taken, before its claim
    assert sender.sweep() == 2
    assert redis_client.lrange(PROCESSING, 0, -1) == [working.to_json()]
    assert sorted(sender.drain()) == ["dead", "sent"]  # the unreadable one is dead-lettered, not lost
    assert [r.content for r in wecom.delivered()] == ["stranded"]


def test_an_unexpected_error_while_sending_is_a_failed_attempt(sender, redis_client, wecom, clock, monkeypatch):
    calls = []

    def broken(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise KeyError("bug")
        return {"errcode": 0}

    monkeypatch.setattr(sender.api, "send_app", broken)
    outbox_add(redis_client, reminder())
    assert sender.drain() == ["retry"]
    assert redis_client.llen(PROCESSING) == 0 and redis_client.zcard(DELAYED) == 1
    clock.advance(sender.next_delayed_in())
    assert sender.drain() == ["sent"]


def test_the_leader_sweeps_stranded_messages_while_it_leads(tmp_path, redis_client, wecom):
    from bot.worker import Worker

    settings = load_settings(make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="app-secret",
                                      SEND_SWEEP_SECONDS="0.2", SEND_CLAIM_TTL="0.3", SENDER_THREADS="1"))
    worker = Worker(settings, redis_client, identity="sweeper")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 10
        while not any(t.name == "sender-0" for t in threading.enumerate()) and time.time() < deadline:
            time.sleep(0.02)  # leading, start-up recovery done
        time.sleep(0.2)
        message = reminder("left behind")
        redis_client.lpush(PROCESSING, message.to_json())  # a live sender lost Redis before its fate's MULTI
        deadline = time.time() + 5
        while not wecom.delivered() and time.time() < deadline:
            time.sleep(0.05)
        assert [r.content for r in wecom.delivered()] == ["left behind"]
    finally:
        worker.stop()
        thread.join(timeout=10)


# -- 6. reminder metrics --------------------------------------------------------------------------
def test_reminders_sent_and_failed_are_counted_by_the_sender(sender, redis_client, wecom):
    wecom.invalid_users.add("ghost")
    outbox_add(redis_client, reminder("a"))
    outbox_add(redis_client, reminder("b", user="ghost"))
    outbox_add(redis_client, OutboxMessage(APP, "not a reminder", to_user="alice"))
    outbox_add(redis_client, OutboxMessage(WEBHOOK, "a notice", fmt="markdown", meta={"kind": "notice_all_done"}))
    assert sorted(sender.drain()) == ["dead", "sent", "sent", "sent"]
    counts = redis_client.hgetall(metrics.EVENT_COUNTS)
    assert counts == {"reminder_sent": "1", "reminder_failed": "1"}


def test_scheduling_a_reminder_is_counted(settings, redis_client, clock):
    from bot.guide import Guide
    from bot.reminders import IDLE, ReminderConfig, ReminderContext, schedule
    from bot.render import Renderer
    from bot.scheduler import build_scheduler, redis_job_store

    scheduler = build_scheduler(redis_job_store(redis_client))
    scheduler.start(paused=True)
    try:
        ctx = ReminderContext(ReminderConfig(), settings, Store(redis_client), Renderer(settings.templates_dir),
                              Guide.load(settings.guide_file), scheduler=scheduler, clock=clock)
        schedule(ctx, IDLE, ALICE, {"step": 1, "at": clock(), "stage": 0, "due": clock() + 60})
        schedule(ctx, IDLE, ALICE, {"step": 1, "at": clock(), "stage": 0, "due": clock() - 10 * 86400})  # too old
    finally:
        scheduler.shutdown(wait=False)
    assert redis_client.hgetall(metrics.EVENT_COUNTS) == {"reminder_scheduled": "1"}


# -- 7. one UTF-8 truncation ----------------------------------------------------------------------
def test_truncate_utf8_cuts_at_a_character_boundary_within_the_limit():
    assert truncate_utf8("short", 10) == "short"
    cut = truncate_utf8("步" * 10, 10)  # 30 bytes into 10: two characters (6) + "…" (3)
    assert cut == "步步…" and utf8_len(cut) <= 10
    assert truncate_utf8("步" * 10, 10, ellipsis="") == "步步步"
    parts = split_utf8("步" * 10, 10)
    assert parts == ["步步步", "步步步", "步步步", "步"]


# -- 8. the worker's Redis client -----------------------------------------------------------------
def test_worker_main_gets_its_client_from_services(monkeypatch, settings, redis_client):
    import bot.services
    import bot.worker

    used = []
    monkeypatch.setattr(bot.worker, "load_settings", lambda: settings)
    monkeypatch.setattr(bot.services, "redis_client", lambda s: used.append(s) or redis_client)

    class FakeWorker:
        def __init__(self, settings, client) -> None:
            assert client is redis_client

        def run(self) -> int:
            return 0

        def stop(self) -> None:
            pass

    monkeypatch.setattr(bot.worker, "Worker", FakeWorker)
    monkeypatch.setattr(bot.worker.signal, "signal", lambda *_args: None)
    assert settings.redis_url  # before the fix, a REDIS_URL bypassed bot.services
    assert bot.worker.main([]) == 0
    assert used == [settings]
