"""The hand-off from the ``ocr`` process to the web processes' answerers (``{wb}:ocr:text``): the text is
redacted before Redis sees it, every image is answered exactly once, and nothing is lost when the answering
process dies — with real Redis, the real pipeline, real processes (one killed with SIGKILL, one gunicorn).

The OCR model is stood in for by a reader that returns a fixed text: what is tested here is what happens to
the text after it was read (tests/channels/test_images.py reads real screenshots with the real model).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest
from PIL import Image

from bot.core.conversation import recent
from bot.core.keys import EVENTS_STREAM, OCR_ANSWER_GROUP, OCR_GROUP, OCR_TEXT_STREAM, OUTBOX_QUEUE, lock_key
from bot.core.locking import RedisLock
from bot.ocr.answers import Answerer
from bot.ocr.engine import Line, Reading
from bot.ocr.fetch import Fetcher
from bot.ocr.handoff import FIELD
from bot.ocr.reader import OcrWorker
from bot.wiring.services import wecom_api
from tests.support.environment import make_env
from tests.support.ocr import USER_KEY, a_read, handed_off
from tests.support.outbound import make_sender
from tests.support.servers import ROOT, Gunicorn, wait_until

SECRET = "3f2a9c0b7d1e4f5a6b8c9d0e1f2a3b4c"  # 32 hex: the shape of an AppSecret


class FixedReader:
    """Stands in for the OCR model: every picture "shows" ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self, rgb) -> Reading:
        return Reading(tuple(Line(line, 0.99, n) for n, line in enumerate(self.text.splitlines())), 0.01)


@pytest.fixture
def env(tmp_path, wecom) -> dict[str, str]:
    return make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="app-secret")


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 120), "white").save(out, "PNG")
    return out.getvalue()


def read_image(settings, redis_client, client, app_sim, wecom, clock, text: str, msg_id: str = "9001") -> None:
    """An image message through the signed app callback, read by an ``ocr`` process's reader (not answered)."""
    wecom.media["pic-ref-1"] = png()
    callback = app_sim.image("ann", "pic-ref-1", msg_id=msg_id)
    assert client.post("/wecom/callback", query_string=callback.query, data=callback.body).status_code == 200
    fetcher = Fetcher(wecom_api(settings, redis_client), max_bytes=settings.ocr_max_bytes, timeout=5, bot_aes_key=None)
    reader = OcrWorker(settings, redis_client, FixedReader(text), fetcher, clock=clock, consumer="ocr-1")
    reader.ensure_group()
    futures = reader.poll(block_ms=None)
    assert len(futures) == 1
    futures[0].result(timeout=30)


def delivered(settings, redis_client, clock, wecom) -> list[str]:
    make_sender(settings, redis_client, clock).drain()
    return [r.content for r in wecom.delivered("message/send")]


def settled(redis_client) -> bool:
    """Nothing left: no image pending with a reader, no text pending with an answerer, no text kept."""
    return (redis_client.xpending(EVENTS_STREAM, OCR_GROUP)["pending"] == 0
            and redis_client.xpending(OCR_TEXT_STREAM, OCR_ANSWER_GROUP)["pending"] == 0
            and redis_client.xlen(OCR_TEXT_STREAM) == 0)


def test_the_reader_hands_off_redacted_text_and_acknowledges_the_image_in_one_step(
        settings, redis_client, client, app_sim, wecom, clock, runtime):
    answerer = Answerer(redis_client, runtime.pipeline, consumer="web-1")
    answerer.ensure_group()
    read_image(settings, redis_client, client, app_sim, wecom, clock, f"第三方平台详情\nAppSecret: {SECRET}")
    assert redis_client.xpending(EVENTS_STREAM, OCR_GROUP)["pending"] == 0
    [(_id, fields)] = redis_client.xrange(OCR_TEXT_STREAM)
    assert SECRET not in str(fields)  # masked before Redis saw it
    handed = json.loads(fields[FIELD])
    assert handed["secret_seen"] is True and "[已隐藏]" in handed["text"]
    assert handed["route"]["msg_id"].endswith("9001") and "pic-ref-1" not in fields[FIELD]  # no download reference
    assert answerer.poll(block_ms=None) == 1
    [answer] = delivered(settings, redis_client, clock, wecom)
    assert "立即到对应平台重置" in answer and SECRET not in answer  # "it was visible: reset it"
    assert settled(redis_client)


def test_text_handed_off_twice_is_answered_and_sent_once(settings, redis_client, runtime, wecom, clock):
    """A reader that was thought dead (slow past the claim time) hands the same image off a second time."""
    answerer = Answerer(redis_client, runtime.pipeline, consumer="web-1")
    answerer.ensure_group()
    handed_off(redis_client, a_read())
    handed_off(redis_client, a_read())
    assert answerer.poll(block_ms=None) == 2
    assert redis_client.llen(OUTBOX_QUEUE) == 2  # the same outbox id twice: the sender sends it once
    [answer] = delivered(settings, redis_client, clock, wecom)
    assert "61004" in answer and "白名单" in answer
    assert [e["text"] for e in recent(redis_client, USER_KEY)] == [a_read().text]  # one exchange, not two
    assert settled(redis_client)


class Died(Exception):
    """The answering process ended between committing the answer and queueing it."""


class DiesBeforeQueueing(Answerer):
    def _finish(self, entry_id, message) -> None:
        raise Died


def test_an_answerer_that_died_after_committing_is_replaced_and_the_answer_goes_once(
        settings, redis_client, runtime, wecom, clock):
    doomed = DiesBeforeQueueing(redis_client, runtime.pipeline, consumer="web-1")
    doomed.ensure_group()
    handed_off(redis_client, a_read())
    with pytest.raises(Died):
        doomed.poll(block_ms=None)
    assert recent(redis_client, USER_KEY)  # committed to the conversation, not yet queued for sending
    assert redis_client.llen(OUTBOX_QUEUE) == 0
    successor = Answerer(redis_client, runtime.pipeline, consumer="web-2", claim_idle=0.05)
    assert successor.poll(block_ms=None) == 0  # not yet idle long enough: its owner may be alive
    time.sleep(0.1)
    assert successor.poll(block_ms=None) == 1  # claimed, answered from the cached reply
    [answer] = delivered(settings, redis_client, clock, wecom)
    assert "61004" in answer
    assert len(recent(redis_client, USER_KEY)) == 1
    assert settled(redis_client)


def test_the_answering_process_killed_mid_answer_loses_nothing(tmp_path, settings, redis_client, runtime, wecom,
                                                               clock):
    """A real process answering (as a web process does) is killed with SIGKILL holding the entry; after the
    restart the entry is claimed and answered once."""
    hold = RedisLock(redis_client, lock_key(USER_KEY), 300)  # the user is busy: the answer waits on the lock
    assert hold.acquire(1)
    handed_off(redis_client, a_read())
    script = ("from bot.web.app import create_app, runtime_of; from bot.ocr.answers import Answerer; "
              "r = runtime_of(create_app()); Answerer(r.redis, r.pipeline, consumer='doomed').run()")
    env = {**os.environ, **make_env(tmp_path, USER_LOCK_WAIT_SECONDS="300", FAQ_EMBED_IN_BACKGROUND="0"),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: [p for p in redis_client.xpending_range(OCR_TEXT_STREAM, OCR_ANSWER_GROUP, "-", "+", 10)
                            if p["consumer"] == "doomed"], timeout=240, what="the answering process took the entry")
    finally:
        proc.kill()
        proc.wait(30)
    hold.release()
    assert redis_client.llen(OUTBOX_QUEUE) == 0 and not recent(redis_client, USER_KEY)
    restarted = Answerer(redis_client, runtime.pipeline, consumer="restarted", claim_idle=0.05)
    wait_until(lambda: restarted.poll(block_ms=None) == 1, timeout=10, what="the entry claimed and answered")
    [answer] = delivered(settings, redis_client, clock, wecom)
    assert "61004" in answer
    assert settled(redis_client)


def test_gunicorns_web_processes_answer_what_the_ocr_process_read(tmp_path, redis_client):
    """The production wiring: bot/web/gunicorn_conf.py starts an answerer in each web process."""
    bot = Gunicorn(make_env(tmp_path, FAQ_EMBED_IN_BACKGROUND="0"), workers=1).start(tmp_path / "gunicorn.log")
    try:
        handed_off(redis_client, a_read(msg_id="9100"))
        queued = wait_until(lambda: redis_client.lrange(OUTBOX_QUEUE, 0, -1), timeout=60, what="the answer queued")
    finally:
        bot.stop()
    [message] = [json.loads(raw) for raw in queued]
    assert message["id"] == "ocr-app-9100" and "61004" in message["text"] and message["to_user"] == "ann"
    assert settled(redis_client)


def test_an_answerer_whose_redis_lost_its_data_starts_the_stream_anew(settings, redis_client, runtime, wecom,
                                                                     clock):
    """A Redis restarted without its data (no appendonly): the group is gone; answers resume by themselves."""
    import threading

    answerer = Answerer(redis_client, runtime.pipeline, consumer="web-1")
    thread = threading.Thread(target=answerer.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: redis_client.exists(OCR_TEXT_STREAM), what="the answerer's group made")
        redis_client.flushdb()
        handed_off(redis_client, a_read())
        wait_until(lambda: redis_client.llen(OUTBOX_QUEUE), timeout=20, what="the answer queued")
    finally:
        answerer.stop()
        thread.join(timeout=10)
    [answer] = delivered(settings, redis_client, clock, wecom)
    assert "61004" in answer
