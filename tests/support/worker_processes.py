"""Real ``python -m bot worker`` subprocesses on the test Redis, the web side in this process, a local fake
WeCom: tests kill workers with SIGKILL and watch what goes out.

Fixtures, registered by name in the test modules that import them (``fixture_wecom`` is the fixture ``wecom``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.demo.simulate_app import AppSimulator
from bot.web.app import create_app
from bot.worker.leader import LEADER_KEY
from tests.support.environment import make_env
from tests.support.fake_wecom import FakeWeCom
from tests.support.servers import ROOT


@pytest.fixture(name="wecom")
def fixture_wecom():
    with FakeWeCom() as server:
        yield server


class Cluster:
    """Starts workers, drives the web side, and cleans up every process it started."""

    def __init__(self, tmp_path: Path, redis_client, wecom: FakeWeCom, **knobs: str) -> None:
        self.tmp_path = tmp_path
        self.redis = redis_client
        defaults = {"WECOM_API_BASE": wecom.base_url, "WECOM_APP_SECRET": "app-secret", "LEADER_TTL": "2",
                    "LEADER_POLL": "0.2", "CERT_CHECK_DELAY": "3", "CERT_FOLLOWUPS": "3600",
                    "CERT_ESCALATE_DELAY": "-1", "IDLE_NUDGES": "off", "QUIET_HOURS": "off", "LOG_LEVEL": "INFO"}
        self.env = make_env(tmp_path, **{**defaults, **knobs})
        settings = load_settings(self.env)
        self.client = create_app(settings, client=redis_client).test_client()
        self.sim = AppSimulator(settings.app, settings.agent_id)
        self.procs: list[subprocess.Popen] = []

    def say(self, text: str, user: str = "alice") -> None:
        callback = self.sim.text(user, text)
        response = self.client.post("/wecom/callback", query_string=callback.query, data=callback.body)
        assert response.status_code == 200

    def start_worker(self) -> subprocess.Popen:
        log = open(self.tmp_path / f"worker-{len(self.procs)}.log", "w")  # noqa: SIM115 - kept open for the child
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **self.env}
        proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def leader(self, timeout: float = 15.0, among: list[subprocess.Popen] | None = None) -> subprocess.Popen:
        deadline = time.time() + timeout
        while time.time() < deadline:
            holder = self.redis.get(LEADER_KEY) or ""
            for proc in among or self.procs:
                if f":{proc.pid}:" in holder and proc.poll() is None:
                    return proc
            time.sleep(0.05)
        raise AssertionError(f"no leader within {timeout}s; logs:\n{self.logs()}")

    def kill(self, proc: subprocess.Popen) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp_path.glob("worker-*.log")))

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_for(predicate, timeout: float, what: str, cluster: Cluster) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; worker logs:\n{cluster.logs()}")


@pytest.fixture(name="cluster_factory")
def fixture_cluster_factory(tmp_path, redis_client, wecom):
    made: list[Cluster] = []

    def make(**knobs: str) -> Cluster:
        made.append(Cluster(tmp_path, redis_client, wecom, **knobs))
        return made[-1]

    yield make
    for cluster in made:
        cluster.close()
