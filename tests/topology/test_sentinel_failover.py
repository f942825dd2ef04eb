"""Master + replica + three Sentinels; the master is killed with SIGKILL in the middle of a registration.

The bot is configured as an operator would (REDIS_SENTINELS, REDIS_SENTINEL_MASTER; REDIS_URL gives only
the database) and gets its client from the one place every process does (``bot.wiring.services.redis_client``).
After the kill it must find the promoted replica by itself, and everything it acknowledged to the user
before the kill must still be there, since replication had caught up (checked with WAIT first: with
asynchronous replication, what the master acknowledged in the last moment before dying may be missing
on the replica; docs/operations.md says what WAIT / min-replicas-to-write change about that).
"""

from __future__ import annotations

import time

import pytest

from bot.config import load_settings
from bot.core.keys import EVENTS_STREAM
from bot.core.progress import FINISHED
from bot.core.store import Store, decode_event
from bot.demo.simulate_app import AppSimulator
from bot.web.app import create_app
from bot.wiring.services import redis_client
from tests.support.environment import make_env
from tests.support.phrases import CERTIFICATION_PASSED, SUBMITTED_CERTIFICATION, SYSTEM_BUSY
from tests.support.servers import SentinelSetup

FAILOVER_WITHIN = 30.0  # seconds: down-after 1 s, then election and promotion


@pytest.fixture
def sentinels(tmp_path):
    setup = SentinelSetup(tmp_path / "sentinel").start()
    yield setup
    setup.stop()


def test_the_master_killed_mid_conversation_the_bot_follows_the_new_master_and_loses_nothing(tmp_path, sentinels):
    env = make_env(tmp_path, REDIS_URL="redis://sentinel-named-master/2", REDIS_SENTINELS=sentinels.addresses,
                   REDIS_SENTINEL_MASTER=sentinels.name)
    env.pop("REDIS_CLUSTER", None)
    settings = load_settings(env)
    client = redis_client(settings)
    app = create_app(settings, client=client).test_client()
    sim = AppSimulator(settings.app, settings.agent_id)

    def say(text: str, msg_id: str | None = None) -> tuple[int, str]:
        callback = sim.text("failover", text, msg_id=msg_id)
        response = app.post("/wecom/callback", query_string=callback.query, data=callback.body)
        return response.status_code, (sim.open_reply(response.get_data()) if response.status_code == 200 else "")

    assert say("开始")[0] == 200
    assert "第2步" in say("完成")[1]
    acknowledged = say("搞定了", msg_id="424242")
    assert acknowledged[0] == 200 and "第3步" in acknowledged[1]  # acknowledged: step 3 is committed
    events_before = client.xlen(EVENTS_STREAM)
    assert client.wait(1, 5000) == 1  # replication has caught up with everything acknowledged

    old_master = sentinels.master_port()
    killed_at = time.monotonic()
    sentinels.master.kill()
    deadline = time.monotonic() + FAILOVER_WITHIN
    while sentinels.master_port() == old_master and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sentinels.master_port() == sentinels.replica.port, "the Sentinels did not promote the replica"

    # The next message, retried as WeCom retries: the same client, no restart, reaches the new master.
    status, reply = say("进度")
    while status != 200 or SYSTEM_BUSY in reply:
        assert time.monotonic() < deadline, f"the bot did not reach the new master: {status} {reply!r}"
        time.sleep(0.3)
        status, reply = say("进度")
    print(f"master killed -> the bot answered from the new master in {time.monotonic() - killed_at:.1f} s")
    assert "▶ 第3步" in reply  # nothing acknowledged before the kill was lost
    assert say("搞定了", msg_id="424242") == acknowledged  # WeCom's retry of it: the cached reply, not step 4
    progress = Store(client).load(f"{settings.corp_id}:failover")
    assert progress is not None and progress.step == 3 and progress.completed == [1, 2]
    assert client.xlen(EVENTS_STREAM) >= events_before
    kinds = [decode_event(fields["event"])[1].kind for _, fields in client.xrange(EVENTS_STREAM)]
    assert kinds.count("step_completed") == 2

    for text in ("完成", SUBMITTED_CERTIFICATION, CERTIFICATION_PASSED, "完成", "完成", "完成"):
        assert say(text)[0] == 200  # and the registration goes on to the end on the new master
    assert Store(client).load(f"{settings.corp_id}:failover").step == FINISHED
