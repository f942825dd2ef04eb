"""The six steps: a whole registration through real callbacks, concurrency, and the guide's facts."""

from __future__ import annotations

import json
import threading
from collections import Counter

from bot.core.progress import CERT_PASSED, FINISHED
from bot.core.store import Store, decode_event
from bot.understand import Context
from tests.support.phrases import (
    CERTIFICATION_FAILED,
    CERTIFICATION_PASSED,
    RESUME_REMINDERS,
    STATUS_WITH_A_MENTION,
    STEP_2_MARKED_CURRENT,
    STOP_REMINDERS,
    SUBMITTED_CERTIFICATION,
    TICK_ITEM_2,
    WHAT_IS_ERROR_61004,
)


def _progress(redis_client, corp_id: str, user: str):
    return Store(redis_client).load(f"{corp_id}:{user}")


def _events(redis_client, kind: str | None = None):
    out = []
    for _id, fields in redis_client.xrange("{wb}:events"):
        user, event = decode_event(fields["event"])
        if kind is None or event.kind == kind:
            out.append((user, event))
    return out


def test_full_registration_with_failed_then_passed_certification(say, redis_client, settings):
    transcript = [(text, say(text, user="zhang")) for text in [
        "开始", "完成", "搞定了", SUBMITTED_CERTIFICATION, CERTIFICATION_FAILED, SUBMITTED_CERTIFICATION,
        CERTIFICATION_PASSED, "完成", "完成", "完成",
    ]]
    replies = dict(transcript)
    assert "第1步" in transcript[0][1] and "两个小程序" in transcript[0][1]
    assert "第2步" in transcript[1][1]
    assert "第3步" in transcript[2][1]
    assert "10 分钟" in transcript[3][1]
    assert "腾讯云账号" in transcript[4][1]  # the failure checklist
    assert "第 2 次" in transcript[5][1]
    assert "认证通过" in replies[CERTIFICATION_PASSED] and "第4步" in replies[CERTIFICATION_PASSED]
    assert "恭喜" in transcript[-1][1]
    progress = _progress(redis_client, settings.corp_id, "zhang")
    assert progress.step == FINISHED
    assert progress.completed == [1, 2, 3, 4, 5, 6]
    assert progress.cert.state == CERT_PASSED and progress.cert.attempts == 2
    kinds = Counter(e.kind for _, e in _events(redis_client))
    assert kinds["cert_submitted"] == 2 and kinds["cert_failed"] == 1 and kinds["cert_passed"] == 1
    assert kinds["step_completed"] == 6 and kinds["all_done"] == 1


def test_status_shows_all_steps_with_marks_and_checklist(say):
    say("开始", user="li")
    say("完成", user="li")
    say(TICK_ITEM_2, user="li")
    status = say("进度", user="li")
    assert "✅ 第1步" in status and STEP_2_MARKED_CURRENT in status and "○ 第6步" in status
    assert "清单 1/3" in status and "☐ 1." in status and "☐ 3." not in status  # short: the next item only
    details = say("详情", user="li")
    assert "☑ 2." in details and "☐ 1." in details and "☐ 3." in details


def test_navigation_back_and_goto(say, redis_client, settings):
    say("start", user="wang")
    say("第4步", user="wang")
    assert _progress(redis_client, settings.corp_id, "wang").step == 4
    say("上一步", user="wang")
    assert _progress(redis_client, settings.corp_id, "wang").step == 3
    assert "1 到 6" in say("第9步", user="wang") or "第1步到第6步" in say("第9步", user="wang")


def test_check_out_of_range_explains(say):
    say("开始", user="zhao")
    assert "1 到 6" in say("勾选 9", user="zhao")


def test_reset_needs_confirmation(say, redis_client, settings):
    say("开始", user="qian")
    say("完成", user="qian")
    assert "确认" in say("重置", user="qian")
    say("进度", user="qian")  # anything else: the reset lapses
    assert _progress(redis_client, settings.corp_id, "qian").step == 2
    say("重置", user="qian")
    assert "已重置" in say("确认", user="qian")
    assert _progress(redis_client, settings.corp_id, "qian").step == 0


def test_english_user_gets_english(say):
    reply = say("start", user="tom")
    assert "Step 1" in reply and "第1步" not in reply
    assert "Step 2" in say("done", user="tom")
    # submitting on step 2 skips a step: the bot asks once, in English, before marking step 2 done
    assert "submitted the provider credentials" in say("I have submitted the credentials", user="tom")
    assert "certification" in say("yes", user="tom").lower()


def test_chinese_after_english_switches_back(say):
    say("status", user="amy")
    assert "开始" in say("进度", user="amy")


def test_mute_and_unmute(say, redis_client, settings):
    say("开始", user="sun")
    say(STOP_REMINDERS, user="sun")
    assert _progress(redis_client, settings.corp_id, "sun").muted is True
    say(RESUME_REMINDERS, user="sun")
    assert _progress(redis_client, settings.corp_id, "sun").muted is False


def test_fifty_concurrent_messages_from_one_user_lose_no_update(app, runtime, app_sim, redis_client, settings):
    """50 parallel "完成" from one user: under the per-user lock each step completes exactly once.

    Without the lock, two requests would both read step 1 and both complete it.
    """
    runtime.services.rate_limit_per_minute = 0  # this test is about the lock, not flood control
    callbacks = [app_sim.text("zhou", "开始")] + [app_sim.text("zhou", "完成") for _ in range(50)]
    first = callbacks.pop(0)
    app.test_client().post("/wecom/callback", query_string=first.query, data=first.body)
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(10)

    def worker(chunk):
        client = app.test_client()
        barrier.wait()
        for callback in chunk:
            response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
            with lock:
                statuses.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(callbacks[i::10],)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 50
    progress = _progress(redis_client, settings.corp_id, "zhou")
    # 1 and 2 done, then step 3 waits for certification: submitted once, pending after that
    assert progress.step == 3 and progress.completed == [1, 2]
    assert progress.cert.attempts == 1
    completed = Counter(e.data["step"] for _, e in _events(redis_client, "step_completed"))
    assert completed == {1: 1, 2: 1}
    assert len(_events(redis_client, "cert_submitted")) == 1
    assert len(_events(redis_client, "activity")) == 51


def test_guide_facts_appear_in_rendered_steps(say):
    """Every key fact of the registration guide reaches the user in some step text."""
    text = say("开始", user="facts") + say("详情", user="facts")
    for n in range(2, 7):
        text += say(f"第{n}步", user="facts") + say("详情", user="facts")
    text += say(CERTIFICATION_FAILED, user="facts")
    # the follow-up parts of long replies go out through the outbox: include them
    from bot.infra.redis_conn import connect
    from tests.support.environment import redis_target_for_tests

    for raw in connect(redis_target_for_tests()).lrange("{wb}:outbox", 0, -1):
        text += json.loads(raw)["text"]
    facts = [
        "两个小程序", "开发小程序", "授权小程序", "平台型服务商", "传统模式", "云服务模式",
        "18", "30", "31", "49", "小程序开发与数据分析", "小程序基本信息管理", "小程序认证名称检测", "小程序云开发管理",
        "四个", "五个", "授权事件接收 URL", "原始 ID", "gh_", "设置 > 基本设置", "spAppId", "服务商 AppId",
        "云服务", "关联腾讯云账号", "已绑定小程序", "新的腾讯云账号", "解绑", "检查第三方绑定的腾讯云账号",
        "AppID", "AppSecret", "10 分钟", "步骤2", "步骤3", "当前操作的腾讯云账号",
        "上传密钥", "更新开发小程序", "服务商使用指南", "https://cloud.tencent.com/document/product/1301/57325",
        "全网发布", "仍可修改", "https://open.weixin.qq.com/", "mp.weixin.qq.com/wxamp/basicprofile/index",
    ]
    missing = [fact for fact in facts if fact not in text]
    assert not missing, missing


def test_intent_parsing_is_forgiving(understander):
    on_step_1 = Context(step=1, item_count=6)
    cases = {
        "开始": "start", "Start": "start", "进度": "status", "status": "status", "下一步": "next",
        "上一步": "back", "第3步": "goto", "第三步": "goto", "step 3": "goto", "完成": "done", "done!": "done",
        "搞定了": "done", "好了！": "done", TICK_ITEM_2: "check", "check 2": "check", "重置": "reset", "帮助": "help",
        "help": "help", SUBMITTED_CERTIFICATION: "cert_submitted", CERTIFICATION_PASSED: "cert_passed",
        CERTIFICATION_FAILED: "cert_failed", STOP_REMINDERS: "mute", RESUME_REMINDERS: "unmute",
        STATUS_WITH_A_MENTION: "status",
    }
    at_cert = {SUBMITTED_CERTIFICATION, CERTIFICATION_PASSED, CERTIFICATION_FAILED}  # read as such on step 3
    for text, expected in cases.items():
        reading = understander.read(text, Context(step=3, cert="submitted") if text in at_cert else on_step_1)
        assert reading.intent == expected, (text, reading)
    assert understander.read("第3步", on_step_1).step == 3 and understander.read("第三步", on_step_1).step == 3
    assert understander.read(TICK_ITEM_2, on_step_1).items == (2,)


def test_questions_are_not_commands(understander):
    for text in ["认证完成要多久", WHAT_IS_ERROR_61004, "完成认证后要做什么？", "how do I finish step 3"]:
        assert understander.read(text, Context(step=3)).intent == "question", text


def test_after_a_reset_time_on_step_counts_from_the_reset(say, redis_client, settings, clock):
    from bot.core.store import step_entered_at

    say("开始", user="again")
    clock.advance(10 * 86400)
    say("重置", user="again")
    say("确认", user="again")
    progress = _progress(redis_client, settings.corp_id, "again")
    assert progress.step == 0 and step_entered_at(progress) == clock()
