"""``python -m bot serve``: start everything a newcomer needs on one machine.

Resolves Redis (REDIS_URL, else an embedded Redis whose data lives in the data folder), then runs
the web processes (gunicorn) and the scheduler worker as children sharing that Redis, and stops
them together.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bot.cli.preflight import preflight
from bot.cli.progname import program
from bot.config import ConfigError, Settings, env_value


def check(argv: list[str] | None = None) -> int:
    """Validate every setting, data file and template, and reach Redis; print what is wrong (exit 2)."""
    argparse.ArgumentParser(prog=program("check"), description=check.__doc__).parse_args(argv)
    try:
        settings, topics = preflight()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    redis_note = "Redis reachable" if settings.redis_url else f"embedded Redis in {settings.data_dir}"
    print(f"ok: {'demo mode' if settings.demo else 'WeCom corp ' + settings.corp_id}, {topics} FAQ topics, "
          f"{redis_note}")
    return 0


class AlreadyRunning(Exception):
    """Another ``serve`` holds the port or the data folder: starting would break it (and us)."""


def _port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AlreadyRunning(f"port {port} on {host} is in use ({exc.strerror}): is the bot already "
                                 f"running? Stop it, or pick another --port.") from exc


def _lock_data_dir(data_dir: Path):
    """Hold an exclusive lock on the data folder for as long as this serve runs (the OS drops it on exit)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / "serve.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise AlreadyRunning(f"another `python -m bot serve` is using {data_dir} (its embedded Redis and "
                             "credentials); stop it, or set BOT_DATA_DIR to another folder.") from exc
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _banner(settings: Settings, port: int) -> str:
    lines = [f"WeDa registration bot on http://127.0.0.1:{port}  (health: /healthz)"]
    if settings.demo:
        lines += [
            "DEMO MODE: no WeCom credentials in the environment; throwaway ones were generated:",
            f"  app callback  URL /wecom/callback  Token {settings.app.token}  "
            f"EncodingAESKey {settings.app.encoding_aes_key}  CorpID {settings.corp_id}",
            f"  AI bot        URL /wecom/aibot     Token {settings.aibot.token}  "
            f"EncodingAESKey {settings.aibot.encoding_aes_key}",
            f"  try it:  python -m bot chat --url http://127.0.0.1:{port}",
        ]
    return "\n".join(lines)


def _start_demo_longconn(settings: Settings, env: dict[str, str]):
    """Demo mode: a local fake WeCom long-connection endpoint (DEMO_WS_PORT), and the bot pointed at it."""
    from bot.config import DEMO_BOT_ID, demo_bot_secret
    from bot.demo.fake_longconn import FakeLongConn

    port = settings.demo_ws_port
    try:
        fake = FakeLongConn(DEMO_BOT_ID, demo_bot_secret(settings), port=port).start()
    except OSError as exc:
        print(f"demo long connection not started (port {port}: {exc.strerror}); set DEMO_WS_PORT", file=sys.stderr)
        return None
    env["WECOM_WS_URL"] = fake.url
    return fake


def _start_demo_kf(settings: Settings, env: dict[str, str], port: int):
    """Demo mode: a local fake 微信客服 (DEMO_KF_PORT) that posts its callbacks to this bot, and the bot's
    kf API calls pointed at it (the demo has no app secret, so nothing else calls WECOM_API_BASE)."""
    from bot.demo.fake_kf import FakeKf

    try:
        fake = FakeKf(settings.kf, bot_url=f"http://127.0.0.1:{port}", port=settings.demo_kf_port).start()
    except OSError as exc:
        print(f"demo 微信客服 not started (port {settings.demo_kf_port}: {exc.strerror}); set DEMO_KF_PORT",
              file=sys.stderr)
        return None
    env["WECOM_API_BASE"] = fake.base_url
    return fake


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program("serve"), description="start the web processes and the "
                                     "scheduler worker (and an embedded Redis when REDIS_URL is unset)")
    parser.add_argument("--port", type=int, default=env_value("port"))
    parser.add_argument("--host", default=env_value("host") or "127.0.0.1")
    parser.add_argument("--workers", type=int, default=env_value("web_concurrency"))
    parser.add_argument("--no-worker", action="store_true", help="do not start the scheduler worker")
    parser.add_argument("--no-ocr", action="store_true", help="do not start the screenshot reader (python -m bot ocr)")
    args = parser.parse_args(argv)

    try:
        _port_free(args.host, args.port)  # before anything is written (demo credentials, the data folder)
    except AlreadyRunning as exc:
        print(f"not starting: {exc}", file=sys.stderr)
        return 3
    try:
        settings, _topics = preflight()  # what `check` refuses, serve refuses
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        _port_free(args.host, args.port)  # again: taken while the model trained
        lock = _lock_data_dir(settings.data_dir)
    except AlreadyRunning as exc:
        print(f"not starting: {exc}", file=sys.stderr)
        return 3

    env = dict(os.environ)
    embedded = None
    if not settings.redis_url:
        from bot.infra.redis_conn import embedded_url, start_embedded

        embedded = start_embedded(settings.data_dir)
        env["REDIS_URL"] = embedded_url(embedded)
        print(f"embedded Redis: data in {settings.data_dir} (set REDIS_URL to use your own)")
    env.setdefault("BOT_DATA_DIR", str(settings.data_dir))

    web = [sys.executable, "-m", "gunicorn", "-c", "python:bot.web.gunicorn_conf", "-w", str(args.workers),
           "-b", f"{args.host}:{args.port}", "--access-logfile", "-", "bot.web.app:create_app()"]
    fake_ws = _start_demo_longconn(settings, env) if settings.demo else None
    fake_kf = _start_demo_kf(settings, env, args.port) if settings.demo else None
    children = [subprocess.Popen(web, env=env)]
    if not args.no_worker:
        children.append(subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env))
    if fake_ws is not None or settings.bot_id:
        children.append(subprocess.Popen([sys.executable, "-m", "bot", "connect"], env=env))
    if not args.no_ocr:  # its own process: the OCR model (~500 MB) never enters the web processes
        children.append(subprocess.Popen([sys.executable, "-m", "bot", "ocr"], env=env))
    print(_banner(settings, args.port), flush=True)
    if fake_ws is not None:
        print(f"  long connection: a local fake WeCom on {fake_ws.url}, the bot connected to it\n"
              f"  try it:  python -m bot chat --ws   (prints what the bot pushes, e.g. follow-ups)", flush=True)
    if fake_kf is not None:
        print(f"  微信客服: a local fake on {fake_kf.control_url} posting to /wecom/kf\n"
              f"  try it:  python -m bot chat --kf http://127.0.0.1:{settings.demo_kf_port}", flush=True)

    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    died = None
    try:
        while not stopping and died is None:
            died = next((child for child in children if child.poll() is not None), None)
            time.sleep(0.2)
        if died is not None and not stopping:
            name = "web (gunicorn)" if died is children[0] else "worker"
            print(f"the {name} process exited (code {died.returncode}): stopping everything", file=sys.stderr)
    finally:
        stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.shutdown(save=True) if hasattr(embedded, "shutdown") else None
        lock.close()
    if died is not None:  # a child died on its own: a failure even if it said 0 (gunicorn giving up on a port)
        return died.returncode if died.returncode and died.returncode > 0 else 1
    return 0
