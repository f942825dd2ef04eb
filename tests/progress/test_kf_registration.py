"""Must-show: with only the 微信客服 settings (no app, no AI bot, no webhook), a customer walks all six steps,
gets an FAQ answer, a certification follow-up inside the 48 h window (fake clock, the worker's own planning
and jobs), and a hand-off to a receptionist and back — every message through the fake 微信客服's signed
callback, sync_msg and send_msg."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.channels.kf import protocol as kf_protocol
from bot.channels.kf.api import ENDED, HUMAN
from bot.config import load_settings
from bot.core import conversation
from bot.demo.fake_kf import FakeKf
from tests.support.kf import ACCOUNT, build_bot, kf_env, new_fake
from tests.support.phrases import CERTIFICATION_PASSED, HANDED_TO_A_PERSON, SUBMITTED_CERTIFICATION, WHAT_IS_ERROR_61004
from tests.support.reminders import Harness

CUSTOMER = "wmCustomerOfWeDa01"


def test_a_kf_customer_registers_end_to_end_with_faq_follow_up_and_a_receptionist(tmp_path, redis_client, clock):
    clock.now = datetime(2026, 9, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    with new_fake(clock) as fake:
        kf = build_bot(tmp_path, fake, redis_client, clock, SUPPORT_STAFF="recep1")
        settings = load_settings(kf_env(tmp_path, fake, SUPPORT_STAFF="recep1"))
        assert not settings.app.token and not settings.aibot.token and not settings.app_secret
        assert not settings.webhook_key and not settings.bot_id
        worker = Harness(settings, redis_client, clock)
        try:
            _walk(kf, fake, worker, clock, redis_client)
        finally:
            worker.close()


def _walk(kf, fake: FakeKf, worker: Harness, clock, redis_client) -> None:
    key = kf_protocol.user_key(ACCOUNT, CUSTOMER)
    store = kf.runtime.services.store

    def say(text: str) -> str:
        shown = kf.say(CUSTOMER, text)
        assert len(shown) == 1, (text, shown)  # one reply per customer message, never split
        return shown[0]

    assert "第1步" in say("开始")
    assert "第2步" in say("完成")
    assert "第3步" in say("完成")
    answer = say(WHAT_IS_ERROR_61004)
    assert "61004" in answer and "白名单" in answer
    assert "10 分钟" in say(SUBMITTED_CERTIFICATION)

    worker.pump()  # the worker plans the certification check...
    clock.advance(601)
    assert worker.run_due() >= 1  # ...and it fires: queued to the customer, routed to 微信客服
    kf.sender.drain()
    follow_up = fake.texts(CUSTOMER)[-1]
    assert "认证" in follow_up and fake.delivered(CUSTOMER)[-1].path == "kf/send_msg"

    assert "第4步" in say(CERTIFICATION_PASSED)

    handoff = say("人工")
    assert HANDED_TO_A_PERSON in handoff
    assert fake.state_of(CUSTOMER) == HUMAN
    assert kf.say(CUSTOMER, "上传密钥在哪里下载") == []  # the receptionist has it: the bot is silent
    fake.receptionist_text(CUSTOMER, "recep1", "在第三方平台 > 开发配置 里下载")
    kf.post_event()
    kf.settle()
    fake.end_session(CUSTOMER)
    kf.post_event()
    kf.settle()
    assert fake.state_of(CUSTOMER) == ENDED
    assert store.load(key).handoff == {}  # the bot answers again

    back = say("完成")
    assert "第5步" in back and "转接" not in back
    assert "第6步" in say("完成")
    say("完成")
    progress = store.load(key)
    assert progress.finished and progress.completed == [1, 2, 3, 4, 5, 6]
    assert progress.corp_id == ACCOUNT and progress.user_id == CUSTOMER  # one progress per (kf account, customer)

    transcript = conversation.recent(redis_client, key)
    assert any(e.get("text") == "上传密钥在哪里下载" and e.get("held") for e in transcript)
    assert any(e.get("by") == "receptionist recep1" for e in transcript)
    assert all(s.ok for s in fake.sent)  # WeCom never had to refuse anything
