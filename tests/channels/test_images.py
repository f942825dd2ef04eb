"""Screenshots in, on the app callback and the AI bot: acknowledged at once, read by the OCR process, answered
by a web process's answerer through the outbox — with the real model (rapidocr-onnxruntime), real Redis and a
local fake WeCom.

Pictures are rendered here (tests/screenshots.py) with Debian's CJK fonts; nothing is downloaded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image

from bot.core.keys import EVENTS_STREAM, OCR_GROUP
from bot.core.store import Store
from bot.ocr.answers import Answerer
from bot.ocr.engine import Engine
from bot.ocr.fetch import Fetcher, encrypt
from bot.ocr.reader import OcrWorker
from bot.wiring.services import wecom_api
from tests.support.environment import TEST_AIBOT_AES_KEY, TEST_CORP_ID, make_env
from tests.support.outbound import make_sender
from tests.support.screenshots import CASES, Case, fonts, render

pytestmark = pytest.mark.skipif(not fonts(), reason="no CJK font (apt-get install fonts-wqy-microhei)")
CASE_61004 = CASES[0]
SECRET = "3f2a9c0b7d1e4f5a6b8c9d0e1f2a3b4c"  # 32 hex: the shape of an AppSecret


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()  # loaded once for the module, as the OCR process loads it once


@pytest.fixture
def env(tmp_path, wecom) -> dict[str, str]:
    # OCR_TIMEOUT: the shared test machine can be slow; the timeout itself is tested with a slow reader
    return make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="app-secret", OCR_TIMEOUT="120")


@dataclass
class Ocr:
    """The ``ocr`` process's reader and a web process's answerer (both as in production, polled by hand)."""

    reader: OcrWorker
    answerer: Answerer


def ocr_of(worker: OcrWorker, runtime) -> Ocr:
    worker.ensure_group()
    answerer = Answerer(worker.redis, runtime.pipeline, consumer="web-t")
    answerer.ensure_group()
    return Ocr(worker, answerer)


@pytest.fixture
def reader(settings, redis_client, runtime, engine, clock) -> Ocr:
    fetcher = Fetcher(wecom_api(settings, redis_client), max_bytes=settings.ocr_max_bytes, timeout=5,
                      bot_aes_key=settings.aibot.encoding_aes_key)
    return ocr_of(OcrWorker(settings, redis_client, engine, fetcher, clock=clock, consumer="t"), runtime)


@pytest.fixture
def send_image(client, app_sim, wecom):
    """Post an image message through the signed app callback; the picture waits in the fake's media/get."""

    def _send(png: bytes, user: str = "ann", msg_id: str | None = None, media_id: str = "m1") -> str:
        wecom.media[media_id] = png
        callback = app_sim.image(user, media_id, msg_id=msg_id)
        response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
        assert response.status_code == 200
        return app_sim.open_reply(response.get_data())

    return _send


def read_all(ocr: Ocr) -> int:
    """Read the images waiting, then answer what was read; returns how many images were read."""
    futures = ocr.reader.poll(block_ms=None)
    for future in futures:
        future.result(timeout=120)
    assert ocr.answerer.poll(block_ms=None) == len(futures)
    return len(futures)


def delivered_texts(settings, redis_client, clock, wecom, path: str = "message/send") -> list[str]:
    make_sender(settings, redis_client, clock).drain()
    return [r.content for r in wecom.delivered(path)]


def test_a_61004_screenshot_in_the_app_gets_the_61004_answer(send_image, reader, settings, redis_client, clock,
                                                             wecom):
    ack = send_image(render(CASE_61004, layout="dialog"))
    assert "收到截图" in ack
    assert read_all(reader) == 1
    [answer] = delivered_texts(settings, redis_client, clock, wecom)
    assert "截图里识别到错误码 61004" in answer and "白名单" in answer and "解决了吗" in answer
    # the answer is part of the conversation staff see, with the text read from the picture
    progress = Store(redis_client).load(f"{TEST_CORP_ID}:ann")
    assert progress.pending == "faq_feedback"


def test_a_redelivered_image_is_acknowledged_again_but_read_once(send_image, reader, settings, redis_client, clock,
                                                                wecom):
    png = render(CASES[1], layout="console")
    first = send_image(png, msg_id="7001")
    again = send_image(png, msg_id="7001")  # WeCom's retry after 5 s
    assert first == again and "收到截图" in first
    assert read_all(reader) == 1 and read_all(reader) == 0
    answers = delivered_texts(settings, redis_client, clock, wecom)
    assert len(answers) == 1 and "61003" in answers[0]


def test_a_code_no_topic_covers_is_answered_from_the_official_table(send_image, reader, settings, redis_client,
                                                                   clock, wecom):
    send_image(render(next(c for c in CASES if c.code == "85085"), layout="network", dark=True))
    read_all(reader)
    [answer] = delivered_texts(settings, redis_client, clock, wecom)
    assert "错误码 85085" in answer and "提审" in answer


@pytest.mark.parametrize(("picture", "expected"), [
    (b"this is no picture at all", "打不开"),
    (b"", "打不开"),
    ("bomb", "尺寸太大"),
    ("tiny", "太小"),
])
def test_a_bad_picture_gets_a_clear_line_and_nothing_crashes(send_image, reader, settings, redis_client, clock,
                                                            wecom, picture, expected):
    if picture == "bomb":  # 30,000 × 30,000 pixels of one colour: a few hundred KB of PNG, 2.7 GB decoded
        out = io.BytesIO()
        Image.new("L", (30_000, 30_000)).save(out, "PNG", optimize=True)
        picture = out.getvalue()
    elif picture == "tiny":
        out = io.BytesIO()
        Image.new("RGB", (8, 8), "white").save(out, "PNG")
        picture = out.getvalue()
    if picture:
        send_image(picture)
    else:
        wecom.media["empty"] = b""
        send_image(b"", media_id="empty")
    read_all(reader)
    [answer] = delivered_texts(settings, redis_client, clock, wecom)
    assert expected in answer


def test_a_picture_wecom_no_longer_has_gets_a_clear_line(client, app_sim, reader, settings, redis_client, clock,
                                                         wecom):
    callback = app_sim.image("ann", "gone")  # media/get answers errcode 40007
    client.post("/wecom/callback", query_string=callback.query, data=callback.body)
    read_all(reader)
    [answer] = delivered_texts(settings, redis_client, clock, wecom)
    assert "没能取到" in answer


def test_an_image_read_too_late_is_not_fetched(send_image, reader, settings, redis_client, clock, wecom):
    send_image(render(CASE_61004))
    clock.advance(settings.ocr_max_age + 1)
    read_all(reader)
    [answer] = delivered_texts(settings, redis_client, clock, wecom)
    assert "太久" in answer
    assert [r for r in wecom.calls("media/get")] == []


def test_nothing_useful_read_says_what_was_read_and_asks(send_image, reader, settings, redis_client, clock, wecom):
    send_image(render(Case(None, "今天天气不错", "周末去公园散步"), layout="dialog"))
    read_all(reader)
    [answer] = delivered_texts(settings, redis_client, clock, wecom)
    assert "我读到的是" in answer and "公园" in answer and "错误码" in answer


def test_a_button_in_the_picture_is_no_command(send_image, say, reader, settings, redis_client, clock, wecom):
    say("开始", user="ann")
    send_image(render(Case(None, "完成", "完成"), layout="dialog"))
    read_all(reader)
    progress = Store(redis_client).load(f"{TEST_CORP_ID}:ann")
    assert progress.step == 1 and 1 not in progress.completed


def test_a_visible_secret_is_redacted_and_the_user_told_to_reset_it(send_image, reader, settings, redis_client,
                                                                   clock, wecom):
    send_image(render(Case(None, f"AppSecret: {SECRET}", "第三方平台详情 · 开发资料"), layout="console"))
    read_all(reader)
    [answer] = delivered_texts(settings, redis_client, clock, wecom)
    assert "立即到对应平台重置" in answer and SECRET not in answer
    for key in redis_client.scan_iter("*"):
        kind = redis_client.type(key)
        dump = str(redis_client.xrange(key) if kind == "stream" else redis_client.dump(key))
        assert SECRET not in dump, key


def test_the_ai_bot_mixed_message_in_a_group_is_answered_in_that_group(client, settings, aibot_sim, reader,
                                                                      redis_client, clock, wecom):
    wecom.files["pic1"] = encrypt(render(CASE_61004, layout="mobile", jpeg=70), TEST_AIBOT_AES_KEY)
    callback = aibot_sim.image("bea", wecom.file_url("pic1"), chat_id="grp-1", text="这个报错怎么办",
                               response_url=wecom.response_url("bea-1"))
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    assert "收到截图" in aibot_sim.open_reply(response.get_data())
    read_all(reader)
    [answer] = delivered_texts(settings, redis_client, clock, wecom, path="response")
    assert answer.startswith("<@bea>") and "61004" in answer


def test_entries_that_are_not_images_are_acknowledged_and_skipped(say, reader, redis_client):
    say("开始")
    assert read_all(reader) == 0
    assert redis_client.xpending(EVENTS_STREAM, OCR_GROUP)["pending"] == 0


class SlowReader:
    """A model that takes longer than OCR_TIMEOUT (the real one, on a picture too big for the machine)."""

    def read(self, rgb):
        import time

        time.sleep(2.0)
        raise AssertionError("the answer must not wait for this")


def test_an_image_that_takes_too_long_gets_a_clear_line(send_image, settings, redis_client, runtime, clock, wecom):
    import dataclasses

    quick = dataclasses.replace(settings, ocr_timeout=1.0)
    fetcher = Fetcher(wecom_api(settings, redis_client), max_bytes=settings.ocr_max_bytes, timeout=5, bot_aes_key=None)
    worker = OcrWorker(quick, redis_client, SlowReader(), fetcher, clock=clock, consumer="slow")
    send_image(render(CASE_61004))
    read_all(ocr_of(worker, runtime))
    [answer] = delivered_texts(settings, redis_client, clock, wecom)
    assert "超时" in answer


def test_a_wechat_customer_service_screenshot_is_read_with_the_kf_token_and_answered_there(tmp_path, redis_client,
                                                                                          clock, engine):
    """微信客服: the media_id is fetched with 微信客服's own token, the answer goes back through kf/send_msg."""
    from bot.ocr.reader import build
    from tests.support.kf import build_bot, new_fake

    with new_fake(clock) as fake:
        kf = build_bot(tmp_path, fake, redis_client, clock, OCR_TIMEOUT="120")
        worker = build(kf.runtime.settings, redis_client, engine)  # as `python -m bot ocr` builds it
        worker.clock = clock
        reader = ocr_of(worker, kf.runtime)
        fake.customer_image("wmCarol", "KF_MEDIA_1", data=render(CASE_61004, layout="mobile"))
        kf.post_event()
        kf.settle()
        assert "收到截图" in fake.texts("wmCarol")[-1]
        assert read_all(reader) == 1
        kf.sender.drain()
        answer = fake.texts("wmCarol")[-1]
        assert "61004" in answer and "白名单" in answer

