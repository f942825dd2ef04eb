"""微信客服's figures: event → reply latency at 20 customers, beside the app callback; the callback under a backlog.

    python bench/kf_latency.py [--customers 20] [--rounds 10] [--backlog 1000] [--redis-url URL]

Everything on loopback: the bot's Flask app served over HTTP (werkzeug, threaded) with both the app
callback and 微信客服 configured, the worker's outbox sender in threads, and the fake 微信客服
(``bot.demo.fake_kf``) — timed at the fake, i.e. as WeCom would see it.

1. **kf reply latency**: each round, ``--customers`` customers write at once (commands and FAQ questions);
   from the fake posting its ``kf_msg_or_event`` callback to the fake receiving that customer's
   ``kf/send_msg`` (callback → background pull → pipeline → outbox → sender → send_msg).
   Baseline, same run, same texts, same users: the app callback's reply time (a signed XML callback posted
   to ``/wecom/callback``, the reply in its response — the passive reply the app channel gives).
2. **callback under a backlog**: ``--backlog`` messages waiting in sync_msg; the callback's own answer time
   (it only notes the pull) while the background pull works through them; and how long the pull took.
   Target: < 100 ms however large the backlog.

Without ``--redis-url`` a throwaway ``redis-server`` is started on a free port (never touches your data).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.longconn_latency import percentile  # noqa: E402
from bench.reminders_latency import start_redis  # noqa: E402

TEXTS = ["进度", "帮助", "61004 是什么错误", "勾选 1", "权限集怎么选", "进度", "帮助", "开始"]
TOKEN, AES_KEY = "benchKfToken0123", "benchKfAesKey0123456789abcdefghijklmnopqrst"
APP_TOKEN, APP_KEY = "benchAppToken0123", "benchAppAesKey0123456789abcdefghijklmnopqrs"
CORP = "wwbenchcorp0001"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    proc, folder = None, None
    redis_url = args.redis_url
    if not redis_url:
        proc, redis_url, folder = start_redis()
    data_dir = tempfile.mkdtemp(prefix="bench-kf-")
    try:
        run(args, redis_url, data_dir)
    finally:
        if proc is not None:
            proc.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


def run(args, redis_url: str, data_dir: str) -> None:
    import requests
    from werkzeug.serving import make_server

    from bot.config import CallbackCredentials, load_settings
    from bot.core.store import Store
    from bot.demo.fake_kf import FakeKf
    from bot.demo.simulate_app import AppSimulator
    from bot.infra.redis_conn import connect
    from bot.outbound.sender import Sender
    from bot.web.app import create_app, runtime_of
    from bot.wiring.services import wecom_api

    client = connect(redis_url)
    client.flushdb()
    fake = FakeKf(CallbackCredentials(TOKEN, AES_KEY, CORP), open_kfid="wkBench01").start()
    env = {"WECOM_CORP_ID": CORP, "WECOM_TOKEN": APP_TOKEN, "WECOM_ENCODING_AES_KEY": APP_KEY,
           "WECOM_KF_SECRET": "bench", "WECOM_KF_TOKEN": TOKEN, "WECOM_KF_ENCODING_AES_KEY": AES_KEY,
           "WECOM_API_BASE": fake.base_url, "REDIS_URL": redis_url, "BOT_DATA_DIR": data_dir, "LOG_LEVEL": "ERROR",
           "RATE_LIMIT_PER_MINUTE": "0", "QUIET_HOURS": "off", "KF_SWEEP_SECONDS": "0",
           "FAQ_EMBED_IN_BACKGROUND": "0"}
    settings = load_settings(env)
    app = create_app(settings, client=client)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    stop = threading.Event()
    senders = [Sender(Store(client), wecom_api(settings, client), settings, identity=f"bench-{i}") for i in range(4)]
    threads = [threading.Thread(target=sender.run, args=(stop,), daemon=True) for sender in senders]
    for thread in threads:
        thread.start()

    arrived: dict[str, float] = {}
    waiting: dict[str, threading.Event] = {}
    lock = threading.Lock()

    def on_send(sent) -> None:
        user = str(sent.body.get("touser"))
        with lock:
            arrived[user] = time.perf_counter()
            event = waiting.get(user)
        if event is not None:
            event.set()

    fake.on_send = on_send
    session = requests.Session()
    app_sim = AppSimulator(CallbackCredentials(APP_TOKEN, APP_KEY, CORP))
    users = [f"wmBench{i:03d}" for i in range(args.customers)]

    def kf_one(user: str, text: str) -> float:
        event = threading.Event()
        with lock:
            waiting[user] = event
        fake.customer_text(user, text)
        cb = fake.callback()
        started = time.perf_counter()
        requests.post(f"{base}/wecom/kf", params=cb.query, data=cb.body, timeout=10)
        if not event.wait(20):
            return float("nan")
        return (arrived[user] - started) * 1000

    def app_one(user: str, text: str) -> float:
        cb = app_sim.text(user, text)
        started = time.perf_counter()
        response = requests.post(f"{base}/wecom/callback", params=cb.query, data=cb.body, timeout=10)
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed if response.status_code == 200 and response.content else float("nan")

    # warm up: both paths once per user (model caches, token fetch, connection pools)
    with ThreadPoolExecutor(args.customers) as pool:
        list(pool.map(lambda u: kf_one(u, "开始"), users))
        list(pool.map(lambda u: app_one(u, "开始"), users))
    kf_ms: list[float] = []
    app_ms: list[float] = []
    with ThreadPoolExecutor(args.customers) as pool:
        for r in range(args.rounds):
            texts = [TEXTS[(r + i) % len(TEXTS)] for i in range(len(users))]
            kf_ms += list(pool.map(kf_one, users, texts))
            app_ms += list(pool.map(app_one, users, texts))
    session.close()
    print(f"kf reply latency, {args.customers} customers at once x {args.rounds} rounds "
          f"(callback -> send_msg at the fake):")
    print(f"  微信客服      p50 {percentile(kf_ms, 50):7.1f} ms   p99 {percentile(kf_ms, 99):7.1f} ms   "
          f"missing {sum(1 for v in kf_ms if v != v)}")
    print(f"  app callback  p50 {percentile(app_ms, 50):7.1f} ms   p99 {percentile(app_ms, 99):7.1f} ms   "
          f"(baseline, same run: passive reply in the response)")

    # the backlog
    backlog_users = [f"wmBacklog{i:04d}" for i in range(args.backlog)]
    for i, user in enumerate(backlog_users):
        fake.customer_text(user, TEXTS[i % len(TEXTS)])
    with lock:
        waiting.clear()
    puller = runtime_of(app).kf_callback.puller
    callback_ms = []
    started = time.perf_counter()
    for _ in range(20):
        cb = fake.callback()
        t0 = time.perf_counter()
        requests.post(f"{base}/wecom/kf", params=cb.query, data=cb.body, timeout=10)
        callback_ms.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.05)
    puller.wait(600)
    pulled = time.perf_counter() - started
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and sum(1 for u in backlog_users if u in arrived) < len(backlog_users):
        time.sleep(0.2)
    answered = sum(1 for u in backlog_users if u in arrived)
    drained = time.perf_counter() - started
    print(f"callback with {args.backlog} messages waiting in sync_msg (20 callbacks while the pull runs):")
    print(f"  callback answer p50 {percentile(callback_ms, 50):6.1f} ms   max {max(callback_ms):6.1f} ms   "
          f"(target < 100 ms)")
    print(f"  the background pull handled the backlog in {pulled:5.1f} s; {answered}/{args.backlog} replies "
          f"delivered after {drained:5.1f} s")
    stop.set()
    for thread in threads:
        thread.join(5)
    server.shutdown()
    fake.stop()


if __name__ == "__main__":
    sys.exit(main())
