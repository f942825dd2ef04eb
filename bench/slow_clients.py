"""Benchmark: signed callbacks answered while slow clients hold connections open.

Starts the bot under gunicorn (bot/web/gunicorn_conf.py: 2 gevent workers x 1,000 connections) in the same
run with the request-body deadline off (BODY_DEADLINE_SECONDS=0, the baseline) and on (the default,
3 s), and optionally the old 2 sync workers. Each time it opens --slow connections (default 3,000, from
one selector thread) that send their headers with ``Content-Length: 5000`` and then one body byte a
second (``--headers`` makes half of them send a header line every 2 s instead), and meanwhile sends
--callbacks signed callbacks (4 at a time, spread over the run). It reports how many callbacks were
answered within WeCom's 5 s and how fast, and how many slow connections the server closed, how soon.

    python bench/slow_clients.py [--slow 3000] [--callbacks 60] [--seconds 20] [--sync] [--headers]
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
from bot.demo.simulate_app import AppSimulator  # noqa: E402

CREDS = {"WECOM_TOKEN": "slowtoken", "WECOM_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
         "WECOM_CORP_ID": "wwslowcorp"}
WECOM_PATIENCE = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlowClients:
    """--slow connections, each sending one byte a second, driven by one thread with a selector."""

    def __init__(self, port: int, count: int, headers_too: bool) -> None:
        self.port = port
        self.count = count
        self.headers_too = headers_too
        self.opened: dict[socket.socket, float] = {}
        self.closed: list[float] = []  # seconds from open to the server closing it
        self.refused = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _open(self, i: int) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        except OSError:
            self.refused += 1
            return
        body = not (self.headers_too and i % 2)
        head = (b"POST /wecom/callback?msg_signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 5000\r\n\r\n") if body else b"POST /wecom/callback HTTP/1.1\r\nHost: x\r\n"
        try:
            sock.sendall(head)
        except OSError:
            self.refused += 1
            return
        sock.setblocking(False)
        self.opened[sock] = time.monotonic()

    def _run(self) -> None:
        for i in range(self.count):
            self._open(i)
        while not self.stop.is_set():
            now = time.monotonic()
            for sock in list(self.opened):
                try:
                    data = sock.recv(4096)
                    gone = not data or data.startswith(b"HTTP/")  # closed, or answered (408) before its body
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if not gone:
                    try:
                        sock.send(b"a")
                    except BlockingIOError:
                        pass
                    except OSError:
                        gone = True
                if gone:
                    self.closed.append(now - self.opened.pop(sock))
                    sock.close()
            self.stop.wait(1.0)

    def finish(self) -> int:
        self.stop.set()
        self.thread.join(10)
        still = len(self.opened)
        for sock in self.opened:
            sock.close()
        return still


def run(label: str, cmd: list[str], env: dict[str, str], args, work: Path) -> dict[str, float]:
    port = free_port()
    cmd = [*cmd, "-b", f"127.0.0.1:{port}", "bot.web.app:create_app()"]
    log = (work / f"{label.split()[0]}.log").open("w")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    slow = SlowClients(port, args.slow, args.headers)
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
        requests.post(f"http://127.0.0.1:{port}/wecom/callback", params=cb.query, data=cb.body, timeout=120)
        slow.start()
        time.sleep(1.0)  # the slow connections are opening
        begun = time.monotonic()

        missed: list[float] = []  # when (s after the slow clients started) an unanswered callback was sent

        def one(i: int) -> float | None:
            """Seconds to a 200 with a reply, or None when WeCom would have given up."""
            time.sleep(max(0.0, begun + i * args.seconds / args.callbacks - time.monotonic()))  # spread out
            cb = sim.text(f"user{i}", "进度")
            started = time.perf_counter()
            sent = time.monotonic() - begun + 1.0
            try:
                r = requests.post(f"http://127.0.0.1:{port}/wecom/callback", params=cb.query, data=cb.body,
                                  timeout=WECOM_PATIENCE)
            except requests.RequestException:
                missed.append(sent)
                return None
            if r.status_code == 200 and r.content:
                return time.perf_counter() - started
            missed.append(sent)
            return None

        with ThreadPoolExecutor(max_workers=8) as pool:  # a few at a time, as WeCom's pushes arrive
            outcomes = list(pool.map(one, range(args.callbacks)))
        latencies = [t for t in outcomes if t is not None]
        still_open = slow.finish()
    finally:
        slow.stop.set()
        server.terminate()
        server.wait(15)
    closed = sorted(slow.closed)
    return {"answered": len(latencies), "p50": statistics.median(latencies) * 1000 if latencies else float("nan"),
            "max": max(latencies) * 1000 if latencies else float("nan"), "open": still_open,
            "closed": len(closed), "refused": slow.refused,
            "close_p50": statistics.median(closed) if closed else float("nan"),
            "close_max": closed[-1] if closed else float("nan"),
            "missed_at": ", ".join(f"{t:.0f}" for t in sorted(missed)) or "-"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=3000, help="slow connections held open")
    parser.add_argument("--callbacks", type=int, default=60, help="signed callbacks sent meanwhile")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the callbacks are spread over")
    parser.add_argument("--deadline", default="3", help="BODY_DEADLINE_SECONDS of the second run")
    parser.add_argument("--sync", action="store_true", help="also run the old start command (2 sync workers)")
    parser.add_argument("--headers", action="store_true", help="half the slow clients send slow headers")
    parser.add_argument("--connections", help="also a run with the deadline and this WEB_WORKER_CONNECTIONS")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-slow-"))
    env = {**os.environ, **CREDS, "PYTHONPATH": str(ROOT), "REDIS_URL": args.redis_url,
           "BOT_DATA_DIR": str(work / "var"), "LOG_LEVEL": "ERROR", "RATE_LIMIT_PER_MINUTE": "0"}
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()
    gunicorn = [sys.executable, "-m", "gunicorn"]
    conf = [*gunicorn, "-c", "python:bot.web.gunicorn_conf"]
    runs = {}
    if args.sync:
        runs["sync x2 (old command)"] = run("sync", [*gunicorn, "-w", "2", "--timeout", "30"], env, args, work)
    runs["gevent x2, no deadline"] = run("nodeadline", conf, {**env, "BODY_DEADLINE_SECONDS": "0"}, args, work)
    runs[f"gevent x2, deadline {args.deadline} s"] = run("deadline", conf,
                                                          {**env, "BODY_DEADLINE_SECONDS": args.deadline}, args, work)
    if args.connections:
        runs[f"... and {args.connections} conns/worker"] = run(
            "connections", conf, {**env, "BODY_DEADLINE_SECONDS": args.deadline,
                                  "WEB_WORKER_CONNECTIONS": args.connections}, args, work)
    print(f"{args.slow} slow connections ({'half slow headers, half ' if args.headers else ''}slow bodies, a byte "
          f"a second), {args.callbacks} signed callbacks over ~{args.seconds:.0f} s, WeCom waits "
          f"{WECOM_PATIENCE:.0f} s")
    for label, r in runs.items():
        print(f"{label:26s} answered {r['answered']:3d}/{args.callbacks}  p50 {r['p50']:8.1f} ms  "
              f"max {r['max']:8.1f} ms | slow closed by server {r['closed']:5d} (p50 {r['close_p50']:5.1f} s, "
              f"max {r['close_max']:5.1f} s), still open {r['open']:5d}, not connected {r['refused']:4d}; "
              f"unanswered ones sent at (s): {r['missed_at']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
