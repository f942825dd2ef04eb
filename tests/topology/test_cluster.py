"""A 3-master Redis Cluster on loopback (CLUSTER ADDSLOTS / MEET), as Tencent Cloud's cluster edition is
to a client: the conversation suite runs on it, the old key layout would not, and the key migration
moves old keys across slots.

The suite runs unchanged: ``TEST_REDIS_TOPOLOGY=cluster`` makes the shared fixtures (``tests/support/environment.py``,
``tests/conftest.py``) start a cluster and hand every test a cluster client and ``REDIS_CLUSTER=true``.
``test_the_conversation_suite_passes_on_a_cluster`` runs a representative part that way in a child
pytest; run any other folder so by hand: ``TEST_REDIS_TOPOLOGY=cluster .venv/bin/pytest tests/progress``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from bot.core.key_migration import migrate_keys
from bot.core.keys import EVENTS_GROUP, EVENTS_STREAM, KEY_MIGRATION_DONE, OLD_PREFIX, PREFIX, progress_key
from bot.infra.redis_conn import RedisTarget, connect
from tests.support.servers import ROOT, RedisClusterProcesses

# Callbacks on both transports, the six steps, reminders and the worker's scheduler, the outbox sender,
# leader election and failover of worker processes under kill -9, the long connection and its holder.
REPRESENTATIVE = (
    "tests/channels/test_app_callback.py",
    "tests/progress/test_steps.py",
    "tests/worker/test_reminders.py",
    "tests/worker/test_worker.py",
    "tests/worker/test_worker_failover.py",
    "tests/outbound/test_sender.py",
    "tests/channels/test_longconn.py",
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    nodes = RedisClusterProcesses(tmp_path_factory.mktemp("cluster")).start()
    yield nodes
    nodes.stop()


@pytest.fixture
def cluster_client(cluster):
    client = connect(RedisTarget(cluster.url, cluster=True))
    client.flushdb(target_nodes="primaries")  # type: ignore[call-arg]
    return client


def test_the_cluster_spreads_slots_over_three_masters(cluster_client):
    owners = {(node.host, node.port) for node in cluster_client.get_primaries()}
    assert len(owners) == 3
    assert len({cluster_client.get_node_from_key(k).port for k in ("a", "b", "c", "d", "e", "f", "g")}) > 1


def test_the_old_layout_would_be_refused_and_ours_is_one_slot(cluster_client):
    """What the hash tag is for: the commit of one message writes the user's key and the global ones, and
    the server itself refuses a script (or MULTI) over keys of several slots."""
    script = "redis.call('SET', KEYS[1], '{}') redis.call('XADD', KEYS[2], '*', 'event', '{}') return 1"
    for user_key, events, refused in ((OLD_PREFIX + "user:{c:u}", OLD_PREFIX + "events", True),
                                      (progress_key("c:u"), EVENTS_STREAM, False)):
        node = cluster_client.get_node_from_key(user_key)
        direct = redis.Redis(host=node.host, port=node.port, decode_responses=True)
        if refused:  # CROSSSLOT
            with pytest.raises(redis.ResponseError, match="same slot"):
                direct.eval(script, 2, user_key, events)
        else:
            assert direct.eval(script, 2, user_key, events) == 1


def test_old_keys_on_a_cluster_move_across_slots_with_ttl_and_groups(cluster_client):
    olds = {f"{OLD_PREFIX}user:{{corp:u{i}}}": f"progress {i}" for i in range(30)}  # spread over the masters
    for key, value in olds.items():
        cluster_client.set(key, value)
    cluster_client.set(OLD_PREFIX + "lock:{corp:u1}", "holder", px=60_000)
    cluster_client.xadd(OLD_PREFIX + "events", {"event": "{}"})
    cluster_client.xgroup_create(OLD_PREFIX + "events", EVENTS_GROUP, id="0")
    assert len({cluster_client.get_node_from_key(k).port for k in olds}) == 3

    assert migrate_keys(cluster_client) == len(olds) + 2

    assert list(cluster_client.scan_iter(match=OLD_PREFIX + "*")) == []
    for key, value in olds.items():
        assert cluster_client.get(PREFIX + key[len(OLD_PREFIX):]) == value
    assert 0 < cluster_client.pttl(PREFIX + "lock:{corp:u1}") <= 60_000
    assert [g["name"] for g in cluster_client.xinfo_groups(EVENTS_STREAM)] == [EVENTS_GROUP]
    assert cluster_client.exists(KEY_MIGRATION_DONE)
    assert migrate_keys(cluster_client) == 0


@pytest.mark.slow
def test_the_conversation_suite_passes_on_a_cluster():
    env = {**os.environ, "TEST_REDIS_TOPOLOGY": "cluster"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *REPRESENTATIVE],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:]
    print(f"on a 3-master cluster: {summary}")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary
