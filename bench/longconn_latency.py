"""The long connection's figures: answer latency under load, reconnect time, follow-up push delay.

    python bench/longconn_latency.py [--rate 50] [--seconds 10] [--cuts 5] [--followups 20] [--redis-url URL]

Everything runs on loopback against the fake WeCom long-connection server (``bot.demo.fake_longconn``),
timed at the fake, i.e. as WeCom would see it:

1. **answer latency**: ``--rate`` messages a second for ``--seconds`` from 50 users (commands and FAQ
   questions), from the fake pushing the callback to it receiving ``aibot_respond_msg``. Baseline,
   same run, same link: a floor bot that answers every callback at once with a fixed stream (no
   pipeline, no Redis). Target: p99 <= 50 ms.
2. **reconnect time**: the fake cuts the link ``--cuts`` times; from the cut to the next successful
   subscribe, with the production backoff (1 s doubling to 30 s, jitter 0.5-1.0). Target: < 2 s.
3. **follow-up push delay**: ``--followups`` users say "我已经提交认证了"; the real worker (scheduler,
   outbox, sender, relay) and the holder push the certification check; from its due time
   (submission + CERT_CHECK_DELAY) to the fake receiving ``aibot_send_msg``. Target: < 1 s.

Without ``--redis-url`` a throwaway ``redis-server`` is started on a free port (never touches your data).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reminders_latency import start_redis  # noqa: E402  (the same throwaway redis-server)

TEXTS = ["进度", "帮助", "61004 是什么错误", "勾选 1", "权限集怎么选", "进度", "帮助", "开始"]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def settings_for(url: str, redis_url: str, data_dir: str, **knobs: str):
    from bot.config import load_settings

    env = {"WECOM_BOT_ID": "bench-bot", "WECOM_BOT_SECRET": "bench-secret", "WECOM_WS_URL": url,
           "REDIS_URL": redis_url, "BOT_DATA_DIR": data_dir, "LOG_LEVEL": "WARNING", "QUIET_HOURS": "off",
           "RATE_LIMIT_PER_MINUTE": "0", "WECOM_NOTICE_CHATID": "bench-group", **knobs}
    return load_settings(env)


def load(fake, rate: float, seconds: float, users: int = 50) -> list[float]:
    """Send at a steady rate; return the answer latencies in ms (unanswered count as missing)."""
    total = int(rate * seconds)
    ids = []
    start = time.monotonic()
    for n in range(total):
        wait = start + n / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        ids.append(fake.send_text(f"u{n % users}", TEXTS[n % len(TEXTS)]))
    fake.wait(lambda: all(fake.deliveries[i].answered_at for i in ids), timeout=30)
    latencies = [(fake.deliveries[i].answered_at[0] - fake.deliveries[i].sent_at) * 1000
                 for i in ids if fake.deliveries[i].answered_at]
    missing = total - len(latencies)
    if missing:
        print(f"  WARNING: {missing} of {total} messages unanswered")
    return latencies


def floor_bot(settings):
    """The baseline: the same client and link, answering every callback at once — no pipeline, no Redis."""
    from bot.channels.longconn import protocol as wire
    from bot.channels.longconn.client import LongConnClient
    from bot.config import longconn_settings

    holder: dict = {}

    async def answer(doc) -> None:
        body = {"msgtype": "stream", "stream": {"id": "floor", "finish": True, "content": "ok"}}
        await holder["client"].respond(wire.RESPOND, wire.req_id_of(doc), body)

    client = LongConnClient(longconn_settings(settings), answer)
    holder["client"] = client

    async def main() -> None:
        holder["loop"], holder["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await client.run(holder["stop"])

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()

    def stop() -> None:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=5)

    return stop


def start_holder(settings, client):
    from bot.channels.longconn.holder import Holder
    from bot.config import longconn_settings

    holder = Holder(settings, client, longconn_settings(settings), poll=0.05)
    thread = threading.Thread(target=holder.run, daemon=True)
    thread.start()

    def stop() -> None:
        holder.stop()
        thread.join(timeout=10)

    return stop


def report(name: str, values: list[float], unit: str) -> None:
    print(f"  {name:<34} n={len(values):<5} p50={percentile(values, 50):8.1f} {unit}  "
          f"p99={percentile(values, 99):8.1f} {unit}  max={max(values, default=float('nan')):8.1f} {unit}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cuts", type=int, default=5)
    parser.add_argument("--followups", type=int, default=20)
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    from bot.demo.fake_longconn import FakeLongConn
    from bot.infra.redis_conn import connect
    from bot.worker.process import Worker

    proc = folder = None
    redis_url = args.redis_url
    if not redis_url:
        proc, redis_url, folder = start_redis()
    data_dir = tempfile.mkdtemp(prefix="bench-longconn-")
    client = connect(redis_url)
    client.flushdb()
    try:
        # 1. answer latency: floor, then the bot, on fresh fakes
        print(f"1. answer latency at {args.rate:.0f} msg/s for {args.seconds:.0f} s (fake -> bot -> fake)")
        fake = FakeLongConn("bench-bot", "bench-secret").start()
        stop = floor_bot(settings_for(fake.url, redis_url, data_dir))
        fake.wait(lambda: fake.subscribes == 1)
        floor = load(fake, args.rate, args.seconds)
        stop()
        fake.stop()
        report("floor (echo, no pipeline)", floor, "ms")

        fake = FakeLongConn("bench-bot", "bench-secret").start()
        settings = settings_for(fake.url, redis_url, data_dir)
        stop = start_holder(settings, client)
        fake.wait(lambda: fake.subscribes == 1, timeout=30)
        fake.send_text("warmup", "帮助")
        time.sleep(0.5)
        bot = load(fake, args.rate, args.seconds)
        report("bot (pipeline + handlers + Redis)", bot, "ms")
        print(f"  ratio p99 bot/floor: {percentile(bot, 99) / max(percentile(floor, 99), 1e-9):.1f}x"
              f"   target p99 <= 50 ms: {'met' if percentile(bot, 99) <= 50 else 'NOT met'}")

        # 2. reconnect time after a cut, production backoff
        print(f"2. reconnect after a cut link ({args.cuts} cuts, backoff 1 s doubling to 30 s, jitter 0.5-1.0)")
        gaps = []
        for _ in range(args.cuts):
            before = fake.subscribes
            cut_at = fake.cut()
            fake.wait(lambda before=before: fake.subscribes > before, timeout=10)
            gaps.append(fake.subscribed_at[-1] - cut_at)
            time.sleep(0.3)
        report("cut -> subscribed again", gaps, "s ")
        print(f"  target < 2 s: {'met' if max(gaps) < 2 else 'NOT met'}")
        stop()
        fake.stop()

        # 3. follow-up push delay after its due time: worker + holder
        delay = 2.0
        print(f"3. certification follow-up pushed after its due time ({args.followups} users, "
              f"CERT_CHECK_DELAY={delay:.0f} s)")
        client.flushdb()
        fake = FakeLongConn("bench-bot", "bench-secret").start()
        settings = settings_for(fake.url, redis_url, data_dir, CERT_CHECK_DELAY=str(delay), CERT_FOLLOWUPS="3600",
                                CERT_ESCALATE_DELAY="-1", IDLE_NUDGES="off", LEADER_POLL="0.1")
        stop = start_holder(settings, client)
        worker = Worker(settings, client)
        worker_thread = threading.Thread(target=worker.run, daemon=True)
        worker_thread.start()
        fake.wait(lambda: fake.subscribes == 1, timeout=30)
        users = [f"f{n}" for n in range(args.followups)]
        for user in users:
            for text in ("开始", "完成", "完成", "我已经提交认证了"):
                msgid = fake.send_text(user, text)
                fake.wait(lambda msgid=msgid: fake.answers(msgid))
        fake.wait(lambda: len({p["chatid"] for p in fake.pushes} & set(users)) == len(users), timeout=30)
        from bot.core.progress import Progress
        from bot.core.store import progress_key

        lateness = []
        for user in users:
            progress = Progress.from_json(client.get(progress_key(f"{settings.corp_id}:{user}")))
            due = float(progress.cert.since) + delay
            pushed = next((t for p, t in zip(fake.pushes, fake.push_times, strict=True) if p["chatid"] == user), None)
            if pushed is not None:
                lateness.append((pushed - due) * 1000)
        report("due -> pushed (aibot_send_msg)", lateness, "ms")
        print(f"  target < 1000 ms: {'met' if lateness and max(lateness) < 1000 else 'NOT met'}")
        worker.stop()
        worker_thread.join(timeout=10)
        stop()
        fake.stop()
    finally:
        if proc is not None:
            proc.kill()
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
