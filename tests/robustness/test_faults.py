"""Faults: Redis dying under traffic, and the whole bot under gunicorn with many users at once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from bot.config import load_settings
from bot.core.progress import FINISHED
from bot.core.store import Store, decode_event
from bot.demo.simulate_app import AppSimulator
from bot.web.app import create_app
from tests.support.environment import make_env
from tests.support.phrases import (
    CERTIFICATION_PASSED,
    HOW_LONG_CERTIFICATION_TAKES,
    RESUME_REMINDERS,
    STEP_2_MARKED_CURRENT,
    STOP_REMINDERS,
    SUBMITTED_CERTIFICATION,
    SYSTEM_BUSY,
    WHAT_IS_ERROR_61004,
)
from tests.support.servers import Gunicorn, RedisProcess

pytestmark = pytest.mark.fault


@pytest.fixture
def own_redis(tmp_path):
    server = RedisProcess(tmp_path / "redis").start()
    yield server
    server.stop()


def test_redis_killed_and_restarted_under_traffic(tmp_path, own_redis):
    settings = load_settings(make_env(tmp_path, REDIS_URL=own_redis.url))
    client = create_app(settings).test_client()
    sim = AppSimulator(settings.app, settings.agent_id)

    def say(text: str, user: str = "fault") -> tuple[int, str]:
        callback = sim.text(user, text)
        response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
        return response.status_code, (sim.open_reply(response.get_data()) if response.status_code == 200 else "")

    assert say("开始")[0] == 200
    assert "第2步" in say("完成")[1]  # acknowledged: step 2 is committed

    own_redis.kill()
    started = time.monotonic()
    status, reply = say("完成")
    assert status == 200 and SYSTEM_BUSY in reply  # a short, clear answer; no 500, no stack trace
    assert time.monotonic() - started < 5  # within WeCom's 5 s
    assert client.get("/healthz").status_code == 503

    own_redis.start()  # same folder: the append-only file brings the data back
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.get("/healthz").status_code != 200:
        time.sleep(0.1)
    assert client.get("/healthz").status_code == 200  # recovered by itself, no restart of the bot
    status, reply = say("进度")
    assert status == 200 and STEP_2_MARKED_CURRENT in reply  # nothing acknowledged was lost
    assert "第3步" in say("完成")[1]


def test_fifty_users_twenty_messages_each_through_gunicorn(tmp_path, redis_client):
    env = make_env(tmp_path, LOG_LEVEL="WARNING")
    settings = load_settings(env)
    bot = Gunicorn(env).start(tmp_path / "gunicorn.log")
    script = ["开始", "进度", "完成", "完成", SUBMITTED_CERTIFICATION, HOW_LONG_CERTIFICATION_TAKES,
              CERTIFICATION_PASSED, "进度", "勾选 1 2", "完成", WHAT_IS_ERROR_61004, "完成", "第6步", "进度", "完成",
              "进度", "帮助", STOP_REMINDERS, RESUME_REMINDERS, "进度"]
    wrong: list[str] = []
    statuses: Counter = Counter()
    lock = threading.Lock()

    def user(n: int) -> None:
        sim = AppSimulator(settings.app, settings.agent_id)
        session = requests.Session()
        name = f"load{n}"
        for text in script:
            callback = sim.text(name, text)
            response = session.post(bot.url + "/wecom/callback", params=callback.query, data=callback.body,
                                    timeout=10)
            with lock:
                statuses[response.status_code] += 1
            if response.status_code == 200 and text == "进度":
                reply = sim.open_reply(response.content)
                if "进度" not in reply:
                    wrong.append(f"{name}: {reply[:80]}")

    try:
        threads = [threading.Thread(target=user, args=(n,)) for n in range(50)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        bot.stop()
    assert statuses == {200: 1000}, statuses
    assert not wrong
    store = Store(redis_client)
    for n in range(50):
        progress = store.load(f"{settings.corp_id}:load{n}")
        assert progress.step == FINISHED and progress.completed == [1, 2, 3, 4, 5, 6], (n, progress.step)
    completions = Counter()
    for _id, fields in redis_client.xrange("{wb}:events"):
        user_key, event = decode_event(fields["event"])
        if event.kind == "step_completed":
            completions[(user_key, event.data["step"])] += 1
    assert len(completions) == 300 and set(completions.values()) == {1}  # each step once per user
    print(f"\n50 users x 20 messages through gunicorn: 1000 answered in {elapsed:.1f} s")


def test_lock_of_a_crashed_holder_expires(redis_client, tmp_path):
    """A process that dies holding a user's lock does not block that user beyond the lock's TTL."""
    store = Store(redis_client, lock_timeout=0.5)
    crashed = redis_client.lock("{wb}:lock:{corp:user}", timeout=0.5)
    assert crashed.acquire(blocking=False)  # and never released
    started = time.monotonic()
    with store.user_lock("corp:user", wait=3):
        pass
    assert time.monotonic() - started < 1.5


def test_a_flooding_user_is_slowed_and_others_are_not(say, runtime):
    runtime.services.rate_limit_per_minute = 5
    replies = [say("进度", user="flooder") for _ in range(8)]
    assert all("太快" not in r for r in replies[:5])
    assert all("太快" in r for r in replies[5:])
    assert "太快" not in say("进度", user="calm")


def test_rate_limit_window_moves_with_the_clock(say, runtime, clock):
    runtime.services.rate_limit_per_minute = 2
    for _ in range(3):
        say("进度", user="burst")
    assert "太快" in say("进度", user="burst")
    clock.advance(61)
    assert "太快" not in say("进度", user="burst")


def test_slow_or_failing_wecom_does_not_slow_the_callbacks(tmp_path, redis_client):
    """Web processes never call WeCom: while WeCom holds every send indefinitely (the worker's calls
    are seen hanging), callbacks are still answered, and what the worker could not send goes out
    once WeCom recovers, each message once.

    Deterministic: the order is enforced by waiting on events, not on how fast a loaded machine is.
    A callback that waited on WeCom could not finish at all while WeCom holds (the old form, a 2 s
    hang against a < 1 s bound, also let through a web process calling WeCom with a 0.5 s timeout)."""
    import os
    import subprocess
    import sys

    from tests.support.fake_wecom import FakeWeCom
    from tests.support.servers import ROOT

    with FakeWeCom() as wecom:
        from tests.support.environment import long_guide

        env = make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="app-secret", LOG_LEVEL="WARNING",
                       WECOM_HTTP_TIMEOUT="0.5", SEND_BACKOFF_BASE="0.2", SEND_BACKOFF_MAX="1", IDLE_NUDGES="off",
                       LEADER_TTL="2", LEADER_POLL="0.2", GUIDE_FILE=long_guide(tmp_path))
        settings = load_settings(env)
        wecom.hold()
        bot = Gunicorn(env).start(tmp_path / "gunicorn.log")
        worker = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT,
                                  env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                                  stdout=(tmp_path / "worker.log").open("w"), stderr=subprocess.STDOUT)
        try:
            sim = AppSimulator(settings.app, settings.agent_id)
            session = requests.Session()

            def say(n: int) -> None:  # "详情" answers with more than one message: the rest goes through the outbox
                for text in ("开始", "详情"):
                    callback = sim.text(f"slow{n}", text)
                    response = session.post(bot.url + "/wecom/callback", params=callback.query,
                                            data=callback.body, timeout=10)
                    assert response.status_code == 200
                    assert sim.open_reply(response.content)

            for n in range(10):
                say(n)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not wecom.held("message/send"):
                time.sleep(0.05)
            assert wecom.held("message/send"), (tmp_path / "worker.log").read_text()  # the worker is stuck on WeCom
            for n in range(10, 20):  # ... and the callbacks are answered all the same
                say(n)
            assert not wecom.delivered("message/send")  # nothing got through while WeCom held
            wecom.release()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len({r.body["touser"] for r in wecom.delivered("message/send")}) < 20:
                time.sleep(0.2)
            delivered = Counter((r.body["touser"], r.content) for r in wecom.delivered("message/send"))
            users = {user for user, _content in delivered}
            assert users == {f"slow{n}" for n in range(20)}, (tmp_path / "worker.log").read_text()
            assert set(delivered.values()) == {1}  # nothing delivered twice
        finally:
            wecom.release()
            worker.terminate()
            worker.wait(10)
            bot.stop()


def test_a_retry_of_an_answered_message_is_not_rate_limited(runtime, client, app_sim):
    runtime.services.rate_limit_per_minute = 2
    callback = app_sim.text("retrier", "进度")
    replies = {app_sim.open_reply(client.post("/wecom/callback", query_string=callback.query,
                                              data=callback.body).get_data()) for _ in range(5)}
    assert len(replies) == 1 and "太快" not in replies.pop()  # WeCom's retries get the cached answer


def test_a_message_waits_briefly_for_a_busy_user_then_says_busy(runtime, redis_client, say):
    """Another message of the same user holds the lock: answer "busy" within WeCom's 5 s, not after the TTL."""
    runtime.services.store.lock_wait = 0.3
    holder = redis_client.set("{wb}:lock:{wwtestcorp000001:busy}", "someone-else", px=10_000)
    assert holder
    started = time.monotonic()
    assert SYSTEM_BUSY in say("进度", user="busy")
    assert time.monotonic() - started < 2


def test_commit_refuses_when_the_lock_may_have_expired(redis_client):
    """Handling that outlived most of the lock's TTL must not overwrite what the next holder wrote."""
    from bot.core.locking import RedisLock
    from bot.core.progress import Progress
    from bot.core.store import UserBusy, lock_key

    store = Store(redis_client, lock_timeout=1.0)
    lock = RedisLock(redis_client, lock_key("c:slow"), ttl=1.0)
    assert lock.try_acquire()
    lock.acquired_at -= 0.9  # 90 % of the TTL has passed
    with pytest.raises(UserBusy):
        store.commit(Progress.new("c", "slow", 1.0), None, [], release=lock)
    assert store.load("c:slow") is None


def test_a_failed_commit_leaves_no_lock_behind(redis_client):
    """The release rides in the commit's MULTI; if that MULTI never runs (Redis dropped mid-commit),
    the lock is still ours to release, not left to block the user for its whole TTL."""
    from bot.core.locking import RedisLock
    from bot.core.store import lock_key

    lock = RedisLock(redis_client, lock_key("c:fail"), ttl=10.0)
    assert lock.try_acquire()
    pipe = redis_client.pipeline(transaction=True)
    lock.release_in(pipe)
    pipe.reset()  # the MULTI is lost: nothing was executed
    lock.release()  # what the pipeline's finally does
    assert not redis_client.exists(lock_key("c:fail"))
