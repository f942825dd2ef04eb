"""Image received -> answer queued, p50/p95, one image at a time and four at once, next to the same question
typed as text; and the memory of the OCR process against a web process.

Everything real but WeCom: the signed app callback (Flask test client), a throwaway Redis database, the OCR
reader (``bot.ocr.reader.OcrWorker``, the model loaded once, ``OCR_CONCURRENCY`` as set) fetching from a
local fake ``media/get`` and handing the text off, and the answerer a web process runs
(``bot.ocr.answers.Answerer``), each on its own thread as in production. "Answer queued" is the moment the
answer is in the outbox (sending is the sender's own benchmark), seen by polling it every 10 ms. The
baseline: the same 61004 question typed, answered in the callback itself.

    python bench/ocr_latency.py --rounds 8 --redis-url redis://127.0.0.1:6379/14
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_of(command: str, redis_url: str) -> float:
    """Peak RSS (MiB) of a fresh Python process that runs ``command``."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec
    script = (f"{command}\nimport re; print(int(re.search(r'VmHWM:\\s+(\\d+)', "
              f"open('/proc/self/status').read()).group(1)) / 1024)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "FAQ_EMBED_IN_BACKGROUND": "0", "REDIS_URL": redis_url}, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds of each: 1 image, 4 images at once, text")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--no-memory", action="store_true", help="skip the two process-memory measurements")
    parser.add_argument("--memory-only", action="store_true", help="only the two process-memory measurements")
    args = parser.parse_args(argv)
    if args.memory_only:
        return memory(args.redis_url)

    from bot.config import load_settings
    from bot.core.keys import OUTBOX_QUEUE
    from bot.demo.simulate_app import AppSimulator
    from bot.infra.redis_conn import connect
    from bot.ocr.answers import Answerer
    from bot.ocr.engine import Engine
    from bot.ocr.fetch import Fetcher
    from bot.ocr.reader import OcrWorker
    from bot.web.app import create_app, runtime_of
    from bot.wiring.services import wecom_api
    from tests.support.environment import make_env
    from tests.support.fake_wecom import FakeWeCom
    from tests.support.screenshots import CASES, render

    client = connect(args.redis_url)
    client.flushdb()
    png = render(CASES[0], layout="dialog")  # a 900 x 420 dialog with 错误码 61004
    with FakeWeCom() as wecom, tempfile.TemporaryDirectory() as tmp:
        env = make_env(Path(tmp), WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="bench", OCR_TIMEOUT="120",
                       RATE_LIMIT_PER_MINUTE="0")
        settings = load_settings(env)
        app = create_app(settings, client=client)
        runtime = runtime_of(app)
        http = app.test_client()
        sim = AppSimulator(settings.app, settings.agent_id)
        started = time.monotonic()
        engine = Engine(settings.ocr_threads)
        load = time.monotonic() - started
        fetcher = Fetcher(wecom_api(settings, client), max_bytes=settings.ocr_max_bytes, timeout=10,
                          bot_aes_key=None)
        reader = OcrWorker(settings, client, engine, fetcher, consumer="bench")
        reader.ensure_group()
        reader.poll(block_ms=None)  # skip what is in the stream already
        answerer = Answerer(client, runtime.pipeline, consumer="bench")
        threads = [threading.Thread(target=reader.run, daemon=True), threading.Thread(target=answerer.run, daemon=True)]
        for thread in threads:
            thread.start()

        def images(count: int, round_: int) -> list[float]:
            sent = []
            for n in range(count):
                media = f"r{round_}-{n}"
                wecom.media[media] = png
                callback = sim.image(f"user-{round_}-{n}", media)
                sent.append(time.monotonic())
                assert http.post("/wecom/callback", query_string=callback.query, data=callback.body).status_code == 200
            done: dict[int, float] = {}
            deadline = time.monotonic() + 600
            while len(done) < count and time.monotonic() < deadline:
                for raw in client.lrange(OUTBOX_QUEUE, 0, -1):
                    for n in range(count):
                        if f'"to_user": "user-{round_}-{n}"' in raw and n not in done:
                            done[n] = time.monotonic()
                time.sleep(0.01)
            client.delete(OUTBOX_QUEUE)
            return [done[n] - sent[n] for n in range(count)]

        def typed(round_: int) -> float:
            callback = sim.text(f"typist-{round_}", "授权的时候报错 61004 access clientip is not registered")
            started = time.monotonic()
            assert http.post("/wecom/callback", query_string=callback.query, data=callback.body).status_code == 200
            return time.monotonic() - started

        images(1, -1)  # warm-up: the first read of a process is slower
        one, four, text = [], [], []
        for r in range(args.rounds):
            one += images(1, r)
            four += images(4, 1000 + r)
            text.append(typed(r))
        reader.stop()
        answerer.stop()
        for thread in threads:
            thread.join(timeout=30)
    client.flushdb()

    def line(name: str, values: list[float]) -> str:
        return (f"{name:34} n={len(values):3}  p50 {statistics.median(values):7.2f} s   "
                f"p95 {percentile(values, 0.95):7.2f} s   max {max(values):7.2f} s")

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"OCR_CONCURRENCY={settings.ocr_concurrency}; model loaded in {load:.2f} s")
    print(line("typed text (baseline, in callback)", text))
    print(line("one image -> answer queued", one))
    print(line("four images at once -> each answer", four))
    return 0 if args.no_memory else memory(args.redis_url)


WEB = "from bot.web.app import create_app; app = create_app(); import sys; "
ANSWER_3 = ("from bot.ocr.answers import Answerer; from bot.ocr.handoff import TextRead, hand_off; "
            "from bot.web.app import runtime_of; from bot.core.keys import EVENTS_STREAM, OCR_GROUP; "
            "r = runtime_of(app); "
            "r.redis.xgroup_create(EVENTS_STREAM, OCR_GROUP, id='$', mkstream=True); "
            "a = Answerer(r.redis, r.pipeline); a.ensure_group(); "
            "[hand_off(r.redis, TextRead('c:u%d' % n, {'transport': 'app', 'corp_id': 'c', 'user_id': 'u%d' % n, "
            "'msg_id': 'm%d' % n}, 'errcode 61004 access clientip is not registered', 0.99, None, 1.0), '0-1') "
            "for n in range(3)]; assert a.poll(block_ms=None) == 3; ")
TYPED_3 = ("from bot.web.app import runtime_of; from bot.core.messages import Incoming; r = runtime_of(app); "
           "[r.pipeline.process(Incoming('app', 'c', 't%d' % n, msg_id='t%d' % n, "
           "text='授权的时候报错 61004 access clientip is not registered'), 'text') for n in range(3)]; ")
NO_MODEL = "assert 'rapidocr_onnxruntime' not in sys.modules and 'PIL' not in sys.modules"
OCR = ("from bot.config import load_settings; from bot.ocr.reader import build; "
       "from bot.ocr.images import decode; from tests.support.screenshots import render, CASES; "
       "w = build(load_settings()); img = decode(render(CASES[0])); ")


def memory(redis_url: str) -> int:
    """Peak memory of fresh processes: a web process answering three typed questions, one answering three
    hand-offs from the OCR process (unchanged: it imports neither the model nor Pillow), and the ocr process
    after three reads one at a time, and after three rounds of OCR_CONCURRENCY reads at once."""
    if not redis_url:
        return 0
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    typed = rss_of(WEB + TYPED_3 + NO_MODEL, redis_url)
    answering = rss_of(WEB + ANSWER_3 + NO_MODEL, redis_url)
    ocr = rss_of(OCR + "[w.engine.read(img) for _ in range(3)]", redis_url)
    together = rss_of(OCR + "from concurrent.futures import ThreadPoolExecutor; p = ThreadPoolExecutor(w.concurrency); "
                      "[list(p.map(lambda _: w.engine.read(img), range(w.concurrency))) for _ in range(3)]", redis_url)
    client.flushdb()
    print(f"peak RSS: a web process after 3 typed questions {typed:.0f} MiB, after answering 3 OCR hand-offs "
          f"{answering:.0f} MiB (neither imports the OCR model nor Pillow); the ocr process after 3 reads "
          f"{ocr:.0f} MiB, after 3 x {os.environ.get('OCR_CONCURRENCY', '2')} reads at once {together:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
