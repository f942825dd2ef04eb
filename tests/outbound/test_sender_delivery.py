"""The sender's harder cases: private continuations only through the app, response_url failures,
stranded processing entries, unexpected errors, the reminder counts it keeps."""

from __future__ import annotations

import pytest
import redis
import requests

from bot.config import load_settings
from bot.core import keys
from bot.core.keys import DEAD_LETTERS
from bot.core.progress import Progress
from bot.core.store import Store
from bot.outbound.entry import APP, WEBHOOK, OutboxMessage
from bot.outbound.queue import CLAIM_PREFIX, DELAYED, PROCESSING, SENT_PREFIX
from bot.outbound.queue import add as outbox_add
from bot.outbound.sender import Sender
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.outbound import idle_reminder, make_sender

ALICE = f"{TEST_CORP_ID}:alice"


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


# -- private continuations ---------------------------------------------------------------------
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
    outbox_add(redis_client, idle_reminder("**nudge**"))
    assert sender.drain() == ["sent"]
    assert [r.content for r in wecom.delivered("response")] == ["**nudge**"]


# -- response_url failures ---------------------------------------------------------------------
def test_http_500_on_a_response_url_is_retried_on_the_url_not_sent_by_the_app(sender, redis_client, wecom, clock):
    give_response_url(redis_client, clock, wecom.response_url("r5"))
    wecom.fail("500", count=1, paths=("response",))
    outbox_add(redis_client, idle_reminder("**once**"))
    assert sender.drain() == ["retry"]
    clock.advance(sender.next_delayed_in())
    assert sender.drain() == ["sent"]
    assert [r.content for r in wecom.delivered("response")] == ["**once**"]
    assert wecom.calls("message/send") == []


def test_a_timed_out_post_that_went_through_is_not_sent_again_by_the_app(sender, redis_client, wecom, clock):
    give_response_url(redis_client, clock, wecom.response_url("r6"))
    wecom.fail("slow", count=1, paths=("response",), delay=1.0)  # the client gives up after 0.5 s
    outbox_add(redis_client, idle_reminder("**late**"))
    assert sender.drain() == ["retry"]
    requests.post(wecom.response_url("r6"), json={}, timeout=5)  # as if that attempt had been delivered
    clock.advance(sender.next_delayed_in())
    assert sender.drain() == ["sent"]  # WeCom refuses the URL: only the earlier attempt can have used it
    assert wecom.calls("message/send") == []
    assert [r.errcode for r in wecom.calls("response")][-1] == 600099


def test_a_redis_error_after_the_post_is_retried_and_not_duplicated(sender, redis_client, wecom, clock,
                                                                     monkeypatch):
    give_response_url(redis_client, clock, wecom.response_url("r7"))
    outbox_add(redis_client, idle_reminder("**marker lost**"))
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
    outbox_add(redis_client, idle_reminder("**fallback**"))
    assert sender.drain() == ["retry", "sent"]  # WeCom answered 600099: nothing shown, the app at once
    assert [r.content for r in wecom.delivered("message/send")] == ["fallback"]


# -- stranded processing entries, unexpected errors --------------------------------------------
def test_sweep_returns_entries_whose_claim_ran_out_after_two_sweeps(sender, redis_client, wecom):
    stranded, working = idle_reminder("stranded"), idle_reminder("in flight")
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
    outbox_add(redis_client, idle_reminder())
    assert sender.drain() == ["retry"]
    assert redis_client.llen(PROCESSING) == 0 and redis_client.zcard(DELAYED) == 1
    clock.advance(sender.next_delayed_in())
    assert sender.drain() == ["sent"]


# -- reminder metrics --------------------------------------------------------------------------
def test_reminders_sent_and_failed_are_counted_by_the_sender(sender, redis_client, wecom):
    wecom.invalid_users.add("ghost")
    outbox_add(redis_client, idle_reminder("a"))
    outbox_add(redis_client, idle_reminder("b", user="ghost"))
    outbox_add(redis_client, OutboxMessage(APP, "not a reminder", to_user="alice"))
    outbox_add(redis_client, OutboxMessage(WEBHOOK, "a notice", fmt="markdown", meta={"kind": "notice_all_done"}))
    assert sorted(sender.drain()) == ["dead", "sent", "sent", "sent"]
    counts = redis_client.hgetall(keys.METRICS_EVENT_COUNTS)
    assert counts == {"reminder_sent": "1", "reminder_failed": "1"}
