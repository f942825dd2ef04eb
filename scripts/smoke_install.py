"""Install the bot as a user does and start it: the path no unit test walks.

Builds the wheel, installs it into a new virtualenv **without** the test extras (so nothing a test tool
pulls in can hide a missing runtime dependency), starts ``weda-bot serve`` in demo mode on free ports
from a folder outside the checkout, waits for ``/healthz``, sends one signed, encrypted callback with
``weda-bot chat`` and checks the reply, then stops the bot and checks it left no traceback.

    python3 scripts/smoke_install.py --constraints constraints.txt   # the tested versions (CI blocks on it)
    python3 scripts/smoke_install.py                                 # the newest versions the ranges allow

Standard library only: it runs before anything is installed. Exit 0 when the bot answered, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_ONLY = ("pytest", "hypothesis", "playwright")  # must not be importable from the user's install
EXPECTED_REPLY = "第1步"  # what 开始 gets: the first step of the guide


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def build_wheel(out: Path) -> Path:
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)])
    return next(out.glob("weda_registration_bot-*.whl"))


def install(wheel: Path, venv: Path, constraints: Path | None) -> Path:
    run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "pip"), "install", "-q"]
    run(pip + (["-c", str(constraints)] if constraints else []) + [str(wheel)])
    python = venv / "bin" / "python"
    present = subprocess.run([str(python), "-c", "import importlib.util as u, sys; "
                              f"print(*[m for m in {TEST_ONLY!r} if u.find_spec(m)])"],
                             capture_output=True, text=True, check=True).stdout.split()
    if present:
        raise SystemExit(f"the user's install must not contain test tools, found {present}")
    return venv / "bin" / "weda-bot"


def wait_healthy(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"weda-bot serve exited with code {server.returncode} before /healthz answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"/healthz did not answer within {timeout:.0f} s")


def smoke(weda_bot: Path, workdir: Path, timeout: float) -> list[str]:
    """Start, talk, stop; returns what went wrong (empty when all was well)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "REDIS_"))}  # demo mode
    env.update(DEMO_WS_PORT=str(free_port()), DEMO_KF_PORT=str(free_port()), PYTHONUNBUFFERED="1")
    log_path = workdir / "serve.log"
    problems: list[str] = []
    with log_path.open("w") as log:
        server = subprocess.Popen([str(weda_bot), "serve", "--port", str(port)], cwd=workdir, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", server, timeout)
            chat = subprocess.run([str(weda_bot), "chat", "--url", f"http://127.0.0.1:{port}", "--user", "smoke"],
                                  input="开始\n", capture_output=True, text=True, cwd=workdir, env=env, timeout=60)
            print(chat.stdout, chat.stderr, sep="", flush=True)
            if chat.returncode != 0 or EXPECTED_REPLY not in chat.stdout:
                problems.append(f"the signed callback got no step-1 reply (chat exit {chat.returncode})")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            problems.append(str(exc))
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    problems.append("weda-bot serve did not stop within 30 s of SIGTERM")
    output = log_path.read_text(errors="replace")
    if "Traceback" in output:
        problems.append("the bot logged a traceback")
    if problems:
        print(f"--- serve log ({log_path}) ---\n{output[-6000:]}", flush=True)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--constraints", type=Path, help="install these exact versions (the lock)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for /healthz")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="weda-smoke-") as tmp:
        folder = Path(tmp)
        wheel = build_wheel(folder / "dist")
        weda_bot = install(wheel, folder / "venv", args.constraints.resolve() if args.constraints else None)
        workdir = folder / "run"  # outside the checkout: the installed bot must find its own files
        workdir.mkdir()
        problems = smoke(weda_bot, workdir, args.timeout)
    which = f"with {args.constraints}" if args.constraints else "with the newest versions the ranges allow"
    if problems:
        print(f"smoke install {which}: FAILED: " + "; ".join(problems), flush=True)
        return 1
    print(f"smoke install {which}: ok (wheel installed without test extras, served /healthz, answered 开始)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
