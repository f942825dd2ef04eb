"""Benchmark: the bot's /wecom/callback under gunicorn against the floor app, in the same run.

The floor (shared/perf/floor_app.py) does the least a WeCom callback server must do: verify,
decrypt, parse, reply, encrypt. A second floor (bench/floor_with_state.py) adds the least state a
bot needs: one Redis read and one MULTI write per message. The bot does that plus dedupe, a
per-user lock and rate limit, progress and indexes in Redis, handlers, templates and the FAQ.
All run on gunicorn with the same worker count and class (gevent, as deployed; ``--worker-class sync``
for the old setup) and face the same kind of signed requests from wrk
(Debian package ``wrk``). Prints throughput and latency of each and the ratios; target: bot >=
0.6x the floor's throughput, p99 <= 2x the floor's.

    python bench/callback_vs_floor.py [--workers 2] [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PERF = Path(os.environ.get("PERF_DIR", ROOT.parent / "shared" / "perf"))
CREDS = {
    "WECOM_TOKEN": "floortoken",
    "WECOM_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "WECOM_CORP_ID": "wwfloorcorp",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def start(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def run_wrk(port: int, reqs: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(PERF / "cycle.lua"),
         f"http://127.0.0.1:{port}", "--", str(reqs)],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(errors.group(1)) if errors else 0}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn gthread threads per worker (both apps)")
    parser.add_argument("--worker-class", default="gevent",
                        help="gunicorn worker class for all three "
                             "(gevent: as deployed, bot/web/gunicorn_conf.py; sync)")
    parser.add_argument("--requests", type=int, default=60000, help="distinct signed callbacks (no repeats)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-callback-"))
    env = {**os.environ, **CREDS, "PYTHONPATH": str(ROOT)}
    bot_env = {**env, "REDIS_URL": args.redis_url, "BOT_DATA_DIR": str(work / "var"), "LOG_LEVEL": "INFO"}
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()

    results = {}
    for name, cmd, cwd, the_env in [
        ("floor", "floor_app:app", PERF, env),
        ("floor+redis", "bench.floor_with_state:app", ROOT, {**env, "REDIS_URL": args.redis_url}),
        ("bot", "bot.web.app:create_app()", ROOT, bot_env),
    ]:
        # fresh requests just before each run: the bot checks timestamp freshness and dedupes MsgIds
        reqs = work / f"reqs-{name}.txt"
        subprocess.run([sys.executable, str(PERF / "wecom_load.py"), "--n", str(args.requests), "--out", str(reqs)],
                       env=env, check=True)
        port = free_port()
        worker_class = (["-k", "gthread", "--threads", str(args.threads)] if args.threads > 1
                        else ["-k", args.worker_class])
        server = start([sys.executable, "-m", "gunicorn", "-w", str(args.workers), *worker_class,
                        "-b", f"127.0.0.1:{port}", "--log-level", "warning", cmd], cwd, the_env, work / f"{name}.log")
        try:
            wait_up(f"http://127.0.0.1:{port}/healthz")
            run_wrk(port, reqs, 2, args.connections)  # warm-up (jieba, templates, connections)
            results[name] = run_wrk(port, reqs, args.seconds, args.connections)
        finally:
            server.terminate()
            server.wait(10)

    floor, floor_state, bot = results["floor"], results["floor+redis"], results["bot"]
    print(f"workers={args.workers} worker_class={args.worker_class} threads={args.threads} "
          f"connections={args.connections} seconds={args.seconds}")
    for name, r in results.items():
        print(f"{name:12s} {r['rps']:9.1f} req/s  p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
              f"non-2xx {r['non2xx']}")
    print(f"throughput ratio bot/floor: {bot['rps'] / floor['rps']:.2f}  (target >= 0.60)")
    print(f"p99 ratio bot/floor:        {bot['p99'] / floor['p99']:.2f}  (target <= 2.00)")
    print(f"throughput ratio bot/(floor+redis): {bot['rps'] / floor_state['rps']:.2f}   "
          f"p99 ratio: {bot['p99'] / floor_state['p99']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
