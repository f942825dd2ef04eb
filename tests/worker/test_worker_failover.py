"""Real ``python -m bot worker`` subprocesses, killed with SIGKILL: reminders still go out exactly once.

The web side runs in this process (the real app, real clock); workers share the test Redis database
and talk to a local fake WeCom. Delays are seconds, not minutes (CERT_CHECK_DELAY etc.).
"""

from __future__ import annotations

import threading
import time

import pytest

from bot.config import load_settings
from bot.worker.leader import LEADER_KEY, Heartbeat, LeaderLock
from bot.worker.scheduler import APS_JOBS_KEY
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.fake_wecom import FakeWeCom
from tests.support.worker_processes import (  # noqa: F401 - fixtures cluster_factory, wecom
    fixture_cluster_factory,
    fixture_wecom,
    wait_for,
)

CERT_JOB = f"cert:{TEST_CORP_ID}:alice"


def checks(wecom: FakeWeCom) -> list[str]:
    # the first check's opening (with a short delay it does not claim "认证应已完成")
    return [r.content for r in wecom.delivered("message/send") if "你提交服务商认证" in r.content]


@pytest.mark.slow
@pytest.mark.fault
def test_kill_9_after_scheduling_then_restart_delivers_once(cluster_factory, wecom, redis_client):
    cluster = cluster_factory()
    first = cluster.start_worker()
    cluster.leader()
    cluster.say("我提交了认证")
    cluster.say("是")  # before step 3 the bot asks once whether the steps before it are done
    wait_for(lambda: redis_client.hexists(APS_JOBS_KEY, CERT_JOB), 10, "the job in the store", cluster)
    cluster.kill(first)
    assert checks(wecom) == []

    second = cluster.start_worker()
    assert cluster.leader() is second
    wait_for(lambda: checks(wecom), 15, "the certification check", cluster)
    time.sleep(2.5)  # room for a duplicate to show up
    assert len(checks(wecom)) == 1
    assert len(wecom.delivered("message/send")) == 1
    assert "Traceback" not in cluster.logs()


@pytest.mark.slow
@pytest.mark.fault
def test_two_workers_deliver_once_and_the_standby_takes_over(cluster_factory, wecom, redis_client):
    cluster = cluster_factory(CERT_CHECK_DELAY="2", CERT_FOLLOWUPS="5")
    workers = [cluster.start_worker(), cluster.start_worker()]
    leader = cluster.leader()
    standby = next(p for p in workers if p is not leader)
    cluster.say("我提交了认证")
    cluster.say("是")  # before step 3 the bot asks once whether the steps before it are done
    wait_for(lambda: checks(wecom), 15, "the certification check", cluster)
    cluster.kill(leader)  # right after the check: the follow-up is the standby's job now
    assert cluster.leader(among=[standby]) is standby
    wait_for(lambda: len(wecom.delivered("message/send")) >= 2, 15, "the follow-up", cluster)
    time.sleep(2.5)
    contents = [r.content for r in wecom.delivered("message/send")]
    assert len(contents) == 2, contents
    assert "你提交服务商认证" in contents[0] and "再确认一下" in contents[1]


@pytest.mark.slow
@pytest.mark.fault
def test_kill_9_in_the_middle_of_a_send_requeues_it_and_sends_once(cluster_factory, wecom, redis_client):
    cluster = cluster_factory(CERT_CHECK_DELAY="1", WECOM_HTTP_TIMEOUT="5", SEND_CLAIM_TTL="3")
    wecom.fail("slow", count=1, delay=3.0)  # the first send hangs (and is not delivered)
    first = cluster.start_worker()
    cluster.leader()
    cluster.say("我提交了认证")
    cluster.say("是")  # before step 3 the bot asks once whether the steps before it are done
    wait_for(lambda: wecom.calls("message/send"), 15, "a send in flight", cluster)
    assert redis_client.llen("{wb}:outbox:processing") == 1
    cluster.kill(first)  # mid-HTTP: the message is in the processing list, claimed by a dead worker

    cluster.start_worker()
    cluster.leader()
    wait_for(lambda: checks(wecom), 20, "the re-queued check", cluster)
    time.sleep(2.0)
    assert len(checks(wecom)) == 1
    assert [r.fault for r in wecom.calls("message/send")] == ["slow", None]
    assert redis_client.llen("{wb}:outbox:processing") == 0


def test_leader_lock_is_exclusive_and_compare_and_set(redis_client):
    a = LeaderLock(redis_client, "a", ttl=5)
    b = LeaderLock(redis_client, "b", ttl=5)
    assert a.try_acquire() and not b.try_acquire()
    assert a.renew() and not b.renew()
    b.release()  # not b's to release
    assert a.holder() == "a"
    a.release()
    assert b.try_acquire() and b.epoch == a.epoch + 1  # a fencing number per takeover


def test_heartbeat_notices_a_stolen_lock(redis_client):
    lock = LeaderLock(redis_client, "me", ttl=1)
    assert lock.try_acquire()
    lost = threading.Event()
    heartbeat = Heartbeat(lock, lost.set)
    heartbeat.start()
    time.sleep(0.5)
    assert not lost.is_set() and redis_client.pttl(LEADER_KEY) > 500  # renewed
    redis_client.set(LEADER_KEY, "someone else")
    assert lost.wait(2.0)
    heartbeat.stop()


def test_graceful_stop_hands_over_at_once(tmp_path, redis_client):
    from bot.worker.process import Worker

    settings = load_settings(make_env(tmp_path, LEADER_TTL="30", LEADER_POLL="0.1", SENDER_THREADS="1"))
    workers = [Worker(settings, redis_client, identity=f"w{i}") for i in range(2)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    threads[0].start()
    deadline = time.time() + 5
    while not workers[0].leading.is_set() and time.time() < deadline:
        time.sleep(0.02)
    threads[1].start()
    time.sleep(0.3)
    assert workers[0].leading.is_set() and not workers[1].leading.is_set()
    workers[0].stop()
    started = time.time()
    while not workers[1].leading.is_set() and time.time() - started < 5:
        time.sleep(0.02)
    assert workers[1].leading.is_set() and time.time() - started < 3  # not the 30 s TTL: the lock was released
    workers[1].stop()
    for thread in threads:
        thread.join(timeout=5)
    assert redis_client.get(LEADER_KEY) is None
