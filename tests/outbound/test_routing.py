"""Reminders go back where the user last spoke: routing against the fake WeCom servers, end to end.

The user speaks through the real channels (the signed app callback, the signed AI-bot callback in a
group or a single chat, the long connection through a running holder); a real reminder job then
queues its message "to the user" and the sender delivers it. Where it arrives is read off the fake
WeCom HTTP server (message/send, response_url) and the fake long-connection server (aibot_send_msg).
"""

from __future__ import annotations

import pytest

from bot.core.store import Store
from bot.demo.simulate_aibot import AibotSimulator
from bot.outbound.entry import USER, OutboxMessage
from bot.outbound.queue import add as outbox_add
from tests.support.all_channels import (  # noqa: F401 - fixtures env, holder, remind, wecom, ws
    fixture_env,
    fixture_holder,
    fixture_remind,
    fixture_wecom,
    fixture_ws,
    ws_say,
)
from tests.support.environment import TEST_CORP_ID
from tests.support.outbound import make_sender

GROUP = "wrSupportGroup01"


@pytest.fixture
def aibot_say(client, settings, clock):
    """Say something to the AI bot through its HTTP callback (a group when ``chat_id``), with a response_url."""
    sim = AibotSimulator(settings.aibot, clock=clock)

    def _say(user: str, text: str, response_url: str, chat_id: str | None = GROUP) -> None:
        callback = sim.text(user, text, chat_id=chat_id, response_url=response_url)
        response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
        assert response.status_code == 200, response.get_data(as_text=True)

    return _say


def test_last_spoke_in_the_app_the_reminder_goes_to_the_app(say, remind, wecom):
    say("开始", user="ann")
    assert remind("ann") == ["sent"]
    [sent] = wecom.delivered("message/send")
    assert sent.body["touser"] == "ann" and "第1步" in sent.content
    assert wecom.delivered("response") == [] and wecom.delivered("webhook/send") == []


def test_last_spoke_in_a_group_the_reminder_goes_back_to_that_group(aibot_say, remind, wecom, redis_client):
    aibot_say("bea", "开始", response_url=wecom.response_url("bea-in-group"))
    assert Store(redis_client).load(f"{TEST_CORP_ID}:bea").last_chat["chat_id"] == GROUP
    assert remind("bea") == ["sent"]
    [posted] = wecom.delivered("response")
    assert posted.path.endswith("bea-in-group")  # the URL WeCom gave with her group message: into that chat
    assert "第1步" in posted.body["markdown"]["content"]
    assert wecom.delivered("message/send") == []


def test_last_spoke_in_the_ai_bots_single_chat_the_reminder_goes_there(aibot_say, remind, wecom):
    aibot_say("cai", "开始", response_url=wecom.response_url("cai-single"), chat_id=None)
    assert remind("cai") == ["sent"]
    assert [r.path for r in wecom.delivered("response")] == ["response/cai-single"]
    assert wecom.delivered("message/send") == []


def test_spoke_in_a_group_then_in_the_app_the_reminder_goes_to_the_app(aibot_say, say, remind, wecom, clock):
    aibot_say("dai", "开始", response_url=wecom.response_url("dai-in-group"))
    clock.advance(60)
    say("进度", user="dai")  # the group's URL is still fresh, but she last spoke in the app
    assert remind("dai") == ["sent"]
    assert wecom.delivered("response") == []
    assert [r.body["touser"] for r in wecom.delivered("message/send")] == ["dai"]


def test_last_spoke_on_the_long_connection_the_reminder_goes_through_it(holder, ws, say, remind, wecom):
    say("开始", user="eda")  # the app first ...
    ws_say(ws, "eda", "进度", chat_id="grp-ws")  # ... then a group, over the long connection
    assert remind("eda") == ["sent"]
    [push] = ws.pushes
    assert push["chatid"] == "eda"  # her private chat with the AI bot, not the group
    assert "第1步" in push["markdown"]["content"]
    assert wecom.delivered("message/send") == []


def test_long_connection_then_the_app_the_reminder_goes_to_the_app(holder, ws, say, remind, wecom):
    ws_say(ws, "fay", "开始")
    say("进度", user="fay")
    assert remind("fay") == ["sent"]
    assert ws.pushes == []
    assert [r.body["touser"] for r in wecom.delivered("message/send")] == ["fay"]


def test_a_spent_group_url_falls_back_to_the_app(aibot_say, remind, wecom):
    aibot_say("gus", "开始", response_url=wecom.response_url("gus-in-group"))
    assert remind("gus") == ["sent"]
    assert remind("gus", stage=1) == ["sent"]  # the URL is usable once: the next reminder takes the app
    assert [r.path for r in wecom.delivered("response")] == ["response/gus-in-group"]
    assert [r.body["touser"] for r in wecom.delivered("message/send")] == ["gus"]


def test_an_expired_group_url_falls_back_to_the_app(aibot_say, remind, wecom, clock):
    aibot_say("ida", "开始", response_url=wecom.response_url("ida-in-group"))
    clock.advance(3600)  # WeCom's hour is over
    assert remind("ida") == ["sent"]
    assert wecom.calls("response") == []
    assert [r.body["touser"] for r in wecom.delivered("message/send")] == ["ida"]


def test_a_user_the_bot_never_heard_from_gets_the_app(settings, redis_client, clock, wecom):
    outbox_add(redis_client, OutboxMessage(USER, "**你好**", to_user="hal", fmt="markdown",
                                           meta={"plain": "你好", "user_key": f"{TEST_CORP_ID}:hal"}))
    assert make_sender(settings, redis_client, clock).drain() == ["sent"]
    [sent] = wecom.delivered("message/send")
    assert (sent.body["touser"], sent.content) == ("hal", "你好")
