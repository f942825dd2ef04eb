"""Hand-off to people: the queue, claim and resolve, the bot keeping out of the way, the timeout,
staff told once — driven through signed callbacks, the operator view and the real event consumer."""

from __future__ import annotations

import pytest

from bot.core.handoffs import HANDOFF_INDEX
from bot.core.render import Renderer
from bot.core.store import EVENTS_STREAM, decode_event
from bot.outbound.entry import OutboxMessage
from bot.outbound.queue import OUTBOX_QUEUE
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.planning import Planner
from tests.support.admin import TOKEN, login
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.phrases import HANDED_TO_A_PERSON, WHAT_IS_ERROR_61004, WHERE_TO_SEE_THE_ORIGINAL_ID

ALICE = f"{TEST_CORP_ID}:alice"


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32, WECOM_WEBHOOK_KEY="hook",
                    SUPPORT_STAFF="staff1,staff2", HANDOFF_TIMEOUT="7200")


def _events(redis_client, kind: str) -> list:
    return [e for _, f in redis_client.xrange(EVENTS_STREAM) for _, e in [decode_event(f["event"])] if e.kind == kind]


def _staff_notices(runtime, settings, redis_client) -> list[OutboxMessage]:
    """Run the worker's planner over the event stream, as the worker would; return the staff notices."""
    services = runtime.services
    ctx = ReminderContext(ReminderConfig.from_settings(settings), settings, services.store,
                          Renderer(settings.templates_dir), services.guide, clock=services.clock)
    planner = Planner(ctx)
    for event_id, fields in redis_client.xrange(EVENTS_STREAM):
        user_key, event = decode_event(fields["event"])
        if event.kind in ("human_requested", "faq_escalated"):  # the others plan jobs (no scheduler here)
            planner.handle(user_key, event, event_id)
    queued = [OutboxMessage.from_json(raw) for raw in redis_client.lrange(OUTBOX_QUEUE, 0, -1)]
    return [m for m in queued if m.meta.get("kind") == "notice_human"]


def test_asking_for_a_person_queues_the_user_and_the_bot_holds_back_questions(say, runtime, redis_client, settings,
                                                                            clock):
    say("开始")
    reply = say("人工")
    assert HANDED_TO_A_PERSON in reply and "staff1" not in reply
    assert redis_client.zscore(HANDOFF_INDEX, ALICE) == clock()

    clock.advance(60)
    held = say(WHERE_TO_SEE_THE_ORIGINAL_ID)  # a question the FAQ would answer
    assert "客服会看到" in held and "gh_" not in held
    from bot.core.conversation import recent

    [entry] = recent(redis_client, ALICE, 1)
    assert entry["held"] is True and entry["text"] == WHERE_TO_SEE_THE_ORIGINAL_ID  # staff see what was held for them
    clock.advance(60)
    again = say("人工")  # asking again: no second notice
    assert "队列" in again
    assert "清单 0/6" in say("进度")  # commands still work

    assert len(_events(redis_client, "human_requested")) == 1
    assert len(_staff_notices(runtime, settings, redis_client)) == 1  # staff told once, not once per message


def test_staff_claim_and_resolve_from_the_queue(say, admin, runtime, redis_client, clock):
    say("开始")
    say("我的小程序绑定失败了，找人工", user="bob")  # a question...
    say("人工", user="bob")
    clock.advance(300)
    say("截图在群里", user="bob")

    page = admin.get("/admin/handoffs").get_data(as_text=True)
    assert "bob" in page and "waiting" in page and "截图在群里" in page  # who, status and the last messages
    data = admin.get("/admin/api/handoffs").get_json()
    [row] = data["items"]
    assert row["user_id"] == "bob" and row["state"] == "waiting" and row["waiting"] == 300
    assert row["step"] == 0 and row["last_messages"][0]["text"] == "截图在群里"

    bob = f"{TEST_CORP_ID}:bob"
    response = admin.post(f"/admin/handoffs/{bob}/claim", data={"csrf_token": admin.csrf})
    assert response.status_code == 303
    row = admin.get("/admin/api/handoffs").get_json()["items"][0]
    assert row["state"] == "claimed" and row["claimed_by"] == "Li Lei"
    assert "客服正在跟进" in say("还是不行", user="bob")

    assert admin.post(f"/admin/handoffs/{bob}/resolve", data={"csrf_token": admin.csrf}).status_code == 303
    assert admin.get("/admin/api/handoffs").get_json()["items"] == []
    assert redis_client.zscore(HANDOFF_INDEX, bob) is None
    answered = say(WHERE_TO_SEE_THE_ORIGINAL_ID, user="bob")
    assert "客服" not in answered.split("\n")[0] and "gh_" in answered  # the bot answers again
    kinds = [h["kind"] for h in runtime.services.store.load(bob).history]
    assert "handoff_claimed" in kinds and "handoff_resolved" in kinds
    # resolving twice: a clear 404, not a 500
    assert admin.post(f"/admin/handoffs/{bob}/resolve", data={"csrf_token": admin.csrf}).status_code == 404


def test_the_queue_api_needs_the_bearer_token_and_posts_need_csrf(client, say):
    say("人工")
    assert client.get("/admin/api/handoffs").status_code == 401
    ok = client.get("/admin/api/handoffs", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.get_json()["total"] == 1
    login(client)
    assert client.post(f"/admin/handoffs/{ALICE}/resolve", data={"csrf_token": "forged"}).status_code == 400


def test_a_forgotten_hand_off_times_out_and_the_bot_answers_again(say, redis_client, clock, runtime):
    say("人工")
    clock.advance(7199)
    assert "客服会看到" in say(WHERE_TO_SEE_THE_ORIGINAL_ID)
    clock.advance(7200)
    answer = say(WHERE_TO_SEE_THE_ORIGINAL_ID)
    assert "gh_" in answer
    progress = runtime.services.store.load(ALICE)
    assert progress.handoff == {} and redis_client.zscore(HANDOFF_INDEX, ALICE) is None
    assert "handoff_timed_out" in [h["kind"] for h in progress.history]


def test_the_faq_running_out_of_answers_opens_a_hand_off(say, redis_client):
    say(WHAT_IS_ERROR_61004)
    for _ in range(6):  # "还不行" until the alternatives are used up: then a person
        last = say("2")
        if redis_client.zscore(HANDOFF_INDEX, ALICE) is not None:
            break
    assert redis_client.zscore(HANDOFF_INDEX, ALICE) is not None, last
    assert HANDED_TO_A_PERSON in last and "staff1" not in last


def test_a_reset_leaves_the_queue(say, redis_client):
    say("开始")
    say("人工")
    say("重置")
    say("确认")
    assert redis_client.zscore(HANDOFF_INDEX, ALICE) is None
