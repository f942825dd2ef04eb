"""Benchmark: the operator pages with 10,000 users (target: p99 < 300 ms for the funnel and stuck pages).

Seeds users straight into Redis through the Store's own index writer (pipelined, 500 per round trip),
logs in, then renders each page many times through Flask's test client, next to a baseline request
(/healthz: routing + one Redis PING) measured in the same run. Prints p50/p99/mean in ms. The funnel
reads time on step exactly, by rank on the step-since index the Store keeps.

    TEST_REDIS_DB=13 .venv/bin/python bench/admin_pages.py --users 10000 --runs 200

The Redis database named by TEST_REDIS_URL/TEST_REDIS_DB (default 15) is FLUSHED.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import load_settings
from bot.core.progress import CERT_PASSED, CERT_PENDING, FINISHED, Progress
from bot.core.store import Store
from bot.infra.redis_conn import connect
from bot.web.app import create_app
from tests.support.environment import TEST_CORP_ID, make_env, redis_url_for_tests

TOKEN = "bench-admin-token-0123456789"
STEP_WEIGHTS = [8, 22, 15, 20, 10, 8, 5, 12]  # steps 0..7: most people stall on 1 and 3
DAY = 86400.0


def seed(store: Store, users: int, now: float, batch: int = 500) -> None:
    rng = random.Random(7)
    pipe = store.redis.pipeline(transaction=False)
    for i in range(users):
        step = rng.choices(range(FINISHED + 1), STEP_WEIGHTS)[0]
        last_seen = now - rng.expovariate(1 / (3 * DAY))
        p = Progress.new(TEST_CORP_ID, f"user{i:06}", last_seen - rng.uniform(0, 10 * DAY))
        for s in range(1, step + 1):
            p.move_to(s, p.created_at + (last_seen - p.created_at) * s / (step + 1))
        p.completed = list(range(1, min(step, 7)))
        p.last_seen = last_seen
        if step == 3 and rng.random() < 0.4:
            p.cert.state, p.cert.since, p.cert.attempts = CERT_PENDING, last_seen, 1
        elif step > 3:
            p.cert.state, p.cert.since, p.cert.attempts = CERT_PASSED, last_seen, 1
        for k in range(rng.randint(3, 20)):
            p.record(rng.choice(["activity", "item_checked", "faq_answered", "step_completed"]),
                     p.created_at + k * 60, step=step)
        store._write_progress(pipe, p, None)  # exactly the keys and indexes Store.save writes
        if (i + 1) % batch == 0:
            pipe.execute()
    pipe.execute()


def measure(client, path: str, runs: int) -> list[float]:
    for _ in range(5):  # warm up templates and connections
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        response.get_data()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, path
    return times


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(f"{label:<44} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   mean {statistics.fmean(ordered):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    client_redis = connect(redis_url_for_tests())
    client_redis.flushdb()
    settings = load_settings(make_env(Path(tempfile.mkdtemp()), ADMIN_TOKEN=TOKEN, LOG_LEVEL="ERROR"))
    app = create_app(settings, client=client_redis)
    store = app.extensions["weda"].services.store
    started = time.perf_counter()
    seed(store, args.users, time.time())
    print(f"seeded {args.users} users in {time.perf_counter() - started:.1f} s "
          f"({client_redis.dbsize()} keys, redis {client_redis.info('server')['redis_version']})")

    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/admin/login", data={"csrf_token": csrf, "token": TOKEN}).status_code == 303

    pages = [
        ("baseline GET /healthz", "/healthz"),
        ("funnel /admin/", "/admin/"),
        ("stuck /admin/stuck (idle > 24 h, by idle)", "/admin/stuck"),
        ("stuck /admin/stuck?sort=step", "/admin/stuck?sort=step"),
        ("stuck page 20 (offset 950)", "/admin/stuck?offset=950"),
        ("pending certifications /admin/pending", "/admin/pending"),
        ("one user /admin/users/<key>", f"/admin/users/{TEST_CORP_ID}:user000042"),
        ("API /admin/api/stuck", "/admin/api/stuck"),
        ("/metrics", "/metrics"),
    ]
    print(f"\n{args.runs} requests each, Flask test client, one process:")
    for label, path in pages:
        report(label, measure(client, path, args.runs))

    report("baseline GET /healthz (again, last)", measure(client, "/healthz", args.runs))

    started = time.perf_counter()
    body = client.get("/admin/export.csv").get_data(as_text=True)
    print(f"\nCSV export: {body.count(chr(10)) - 1} rows, {len(body) / 1e6:.1f} MB in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")
    client_redis.flushdb()


if __name__ == "__main__":
    main()
