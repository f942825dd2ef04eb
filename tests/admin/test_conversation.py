"""What staff see: the conversation on the user page (redacted text, the reply, the reading), the
follow-ups sent and due, answers that did not help in the unanswered list, pending follow-ups that
cannot fire left out."""

from __future__ import annotations

import json

import pytest

from bot.core.conversation import CONVERSATION_LIMIT, REPLY_CHARS, conversation_key
from bot.core.progress import CERT_PENDING
from bot.worker.reminders.jobs import CERT, IDLE, job_id
from bot.worker.scheduler import APS_RUN_TIMES_KEY
from tests.support.admin import TOKEN
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.phrases import STOP_REMINDERS, TICK_ITEM_1, WHERE_TO_SEE_THE_ORIGINAL_ID

ALICE = f"{TEST_CORP_ID}:alice"
SECRET = "AppSecret: 0123456789abcdef0123456789abcdef"


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32)


def test_the_user_page_shows_the_conversation_newest_first_with_readings(say, admin):
    say("开始")
    say(TICK_ITEM_1)
    say(WHERE_TO_SEE_THE_ORIGINAL_ID)
    say(f"我的 {SECRET} 对吗")
    data = admin.get(f"/admin/api/users/{ALICE}").get_json()
    conv = data["conversation"]
    assert [c["text"][:4] for c in conv[:3]] == ["我的 A", "原始ID", TICK_ITEM_1]  # newest first
    assert "0123456789abcdef" not in json.dumps(conv)  # redacted as stored
    faq = conv[1]["reading"]
    assert faq["kind"] == "faq" and faq["topic"] and faq["score"] > 0
    check = conv[2]["reading"]
    assert check["intent"] == "check" and check["items"] == [1] and 0.5 < check["confidence"] <= 1
    assert conv[3]["reply"].startswith("好的，我们开始")
    html = admin.get(f"/admin/users/{ALICE}").get_data(as_text=True)
    assert 'id="conversation"' in html and WHERE_TO_SEE_THE_ORIGINAL_ID in html and faq["topic"] in html
    assert "intent: check 1" in html


def test_the_conversation_is_bounded_and_long_replies_are_cut(say, redis_client, clock):
    say("开始")
    say("详情")  # the whole step: longer than what is kept
    [details] = [json.loads(r) for r in redis_client.lrange(conversation_key(ALICE), 0, 0)]
    assert len(details["reply"]) == REPLY_CHARS and details["reply"].endswith("…")
    for i in range(CONVERSATION_LIMIT + 5):
        clock.advance(5)  # under the rate limit
        say(f"勾选 {i % 6 + 1}")
    assert redis_client.llen(conversation_key(ALICE)) == CONVERSATION_LIMIT


def test_a_rejected_answer_lands_in_the_unanswered_list(say, admin):
    say(WHERE_TO_SEE_THE_ORIGINAL_ID)
    say("2")  # 还不行
    items = admin.get("/admin/api/unanswered").get_json()["items"]
    rejected = [q for q in items if q["reason"] == "rejected"]
    assert [q["text"] for q in rejected] == [WHERE_TO_SEE_THE_ORIGINAL_ID]
    assert rejected[0]["best_guess"] and rejected[0]["score"] is not None
    assert "answer rejected" in admin.get("/admin/unanswered").get_data(as_text=True)


def test_a_confident_answer_followed_by_a_call_for_a_person_lands_there_too(say, admin, clock):
    say(WHERE_TO_SEE_THE_ORIGINAL_ID)
    clock.advance(60)
    say("人工")
    items = admin.get("/admin/api/unanswered").get_json()["items"]
    assert [(q["reason"], q["text"]) for q in items] == [("human_after_answer", WHERE_TO_SEE_THE_ORIGINAL_ID)]


def test_a_call_for_a_person_without_an_answer_before_is_not_an_unanswered_question(say, admin):
    say("开始")
    say("人工")
    assert admin.get("/admin/api/unanswered").get_json()["items"] == []


def test_follow_ups_sent_and_due_on_the_user_page(say, admin, runtime, clock):
    say("开始")
    due = clock() + 3600
    runtime.redis.zadd(APS_RUN_TIMES_KEY, {job_id(IDLE, ALICE): due})
    admin.post(f"/admin/users/{ALICE}/nudge", data={"csrf_token": admin.csrf, "note": "看一下第1步"})
    html = admin.get(f"/admin/users/{ALICE}").get_data(as_text=True)
    followups = html.split('id="followups"')[1].split("</table>")[0]
    assert "idle reminder" in followups and "due" in followups
    assert "nudge_manual by Li Lei" in followups and "sent" in followups
    conv = admin.get(f"/admin/api/users/{ALICE}").get_json()["conversation"]
    assert conv[0]["by"] == "Li Lei" and "看一下第1步" in conv[0]["reply"]


def test_pending_leaves_out_follow_ups_that_cannot_fire(say, admin, runtime, clock):
    for user in ("alice", "bob", "carol"):
        say("我已提交认证", user)
        say("是", user)  # before step 3 the bot asks once
    say(STOP_REMINDERS, "bob")
    say("人工", "carol")
    due = clock() + 600
    runtime.redis.zadd(APS_RUN_TIMES_KEY, {job_id(CERT, f"{TEST_CORP_ID}:{u}"): due for u in ("alice", "bob", "carol")})
    page = admin.get("/admin/api/pending").get_json()
    follow = {r["user"]["user_id"]: r["next_followup"] for r in page["items"]}
    assert follow == {"alice": {"kind": "cert", "due": due}, "bob": None, "carol": None}
    html = admin.get("/admin/pending").get_data(as_text=True)
    assert "none: muted" in html and "none while a person has them" in html
    assert runtime.services.store.load(f"{TEST_CORP_ID}:carol").cert.state == CERT_PENDING
