"""Benchmark: signed callbacks answered while slow-loris clients hold connections open.

Starts the bot under gunicorn twice in the same run, against loopback: the old start command (2 sync
workers) as the baseline, then the deployed one (bot/gunicorn_conf.py: gevent workers). Each time it
opens --slow connections that send headers with ``Content-Length: 5000`` and then one body byte a
second (half of them) or one header line every 2 s (the other half), then sends --callbacks signed
callbacks one after another and reports how many were answered within WeCom's 5 s and how fast.

    python bench/slow_clients.py [--slow 50] [--callbacks 20] [--redis-url redis://127.0.0.1:6379/10]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import CallbackCredentials  # noqa: E402
from bot.wecom.simulate import AppSimulator  # noqa: E402

CREDS = {"WECOM_TOKEN": "slowtoken", "WECOM_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
         "WECOM_CORP_ID": "wwslowcorp"}
WECOM_PATIENCE = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slow_client(port: int, stop: threading.Event, body: bool) -> None:
    """Hold a connection: a slow body (Content-Length 5000, a byte a second) or slow headers."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if body:
            sock.sendall(b"POST /wecom/callback?msg_signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 5000\r\n\r\n")
        else:
            sock.sendall(b"POST /wecom/callback HTTP/1.1\r\nHost: x\r\n")
        i = 0
        while not stop.is_set():
            sock.sendall(b"a" if body else f"X-Slow-{i}: 1\r\n".encode())
            i += 1
            stop.wait(1.0 if body else 2.0)
        sock.close()
    except OSError:
        pass  # the server closed it: fine, it is the server's right


def run(label: str, cmd: list[str], env: dict[str, str], args, work: Path) -> dict[str, float]:
    port = free_port()
    cmd = [*cmd, "-b", f"127.0.0.1:{port}", "bot.app:create_app()"]
    log = (work / f"{label}.log").open("w")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    stop = threading.Event()
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        sim = AppSimulator(CallbackCredentials(CREDS["WECOM_TOKEN"], CREDS["WECOM_ENCODING_AES_KEY"],
                                               CREDS["WECOM_CORP_ID"]))
        cb = sim.text("warmup", "开始")
        requests.post(f"http://127.0.0.1:{port}/wecom/callback", params=cb.query, data=cb.body, timeout=10)
        threads = [threading.Thread(target=slow_client, args=(port, stop, i % 2 == 0), daemon=True)
                   for i in range(args.slow)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # every slow connection is open and has sent its headers' start
        def one(i: int) -> float | None:
            """Seconds to a 200 with a reply, or None when WeCom would have given up."""
            cb = sim.text(f"user{i}", "进度")
            started = time.perf_counter()
            try:
                r = requests.post(f"http://127.0.0.1:{port}/wecom/callback", params=cb.query, data=cb.body,
                                  timeout=WECOM_PATIENCE)
            except requests.RequestException:
                return None
            return time.perf_counter() - started if r.status_code == 200 and r.content else None

        with ThreadPoolExecutor(max_workers=4) as pool:  # a few at a time, as WeCom's pushes arrive
            outcomes = list(pool.map(one, range(args.callbacks)))
        latencies = [t for t in outcomes if t is not None]
        answered = len(latencies)
        open_slow = sum(t.is_alive() for t in threads)
    finally:
        stop.set()
        server.terminate()
        server.wait(15)
    return {"answered": answered, "open_slow": open_slow, "p50": statistics.median(latencies) * 1000 if latencies
            else float("nan"), "max": max(latencies) * 1000 if latencies else float("nan")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=50, help="slow-loris connections held open")
    parser.add_argument("--callbacks", type=int, default=20, help="signed callbacks sent meanwhile")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-slow-"))
    env = {**os.environ, **CREDS, "PYTHONPATH": str(ROOT), "REDIS_URL": args.redis_url,
           "BOT_DATA_DIR": str(work / "var"), "LOG_LEVEL": "WARNING", "RATE_LIMIT_PER_MINUTE": "0"}
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    gunicorn = [sys.executable, "-m", "gunicorn"]
    results = {
        "sync x2 (before)": run("sync", [*gunicorn, "-w", "2", "--timeout", "30"], env, args, work),
        "gunicorn_conf (gevent x2)": run("gevent", [*gunicorn, "-c", "python:bot.gunicorn_conf"], env, args, work),
    }
    print(f"{args.slow} slow-loris connections, {args.callbacks} signed callbacks, WeCom waits {WECOM_PATIENCE:.0f} s")
    for label, r in results.items():
        print(f"{label:26s} answered {r['answered']:3d}/{args.callbacks}  slow still open {r['open_slow']:3d}  "
              f"p50 {r['p50']:8.1f} ms  max {r['max']:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
