"""Who a message is from, and where its state goes: one user id rule, collision-free keys, clean logs,
and answers posted only to WeCom."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.aibot import protocol as aibot_protocol
from bot.channels.app import protocol as app_protocol
from bot.channels.wecom.api import WeComAPI
from bot.config import load_settings
from bot.core.keys import key_part, key_parts
from bot.core.messages import Incoming
from bot.core.store import Store, reply_key
from bot.demo.simulate_aibot import AibotSimulator
from bot.infra.logs import SafeFormatter
from bot.outbound.config import SenderConfig
from bot.outbound.entry import RESPONSE_URL, OutboxMessage
from bot.outbound.queue import OUTBOX_QUEUE
from bot.outbound.sender import Sender
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.fake_wecom import FakeWeCom


def _app_xml(user: str) -> str:
    return (f"<xml><ToUserName>c</ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>5</MsgId></xml>")


@pytest.mark.parametrize("raw", ["vic ", " vic", "\tvic\n", "vic"])
def test_both_callbacks_read_a_user_id_the_same_way(raw):
    app = app_protocol.to_incoming(_app_xml(raw), "c")
    aibot = aibot_protocol.to_incoming({"msgid": "1", "from": {"userid": raw}, "msgtype": "text",
                                        "text": {"content": "hi"}}, "c")
    assert app.user_id == aibot.user_id == "vic"
    assert app.user_key == aibot.user_key


@pytest.mark.parametrize("user", ["vic\r\n2026-12-01 INFO forged", "a\x00b", "a\u2028b", "a\x1bb"])
def test_user_ids_with_control_characters_are_refused_by_both_callbacks(client, app_sim, settings, clock, user):
    if "\x00" not in user and "\x1b" not in user:  # XML cannot carry those two at all
        callback = app_sim.text(user, "开始")
        assert client.post("/wecom/callback", query_string=callback.query, data=callback.body).status_code == 400
    sim = AibotSimulator(settings.aibot, clock=clock)
    callback = sim.text(user, "开始")
    assert client.post("/wecom/aibot", query_string=callback.query, data=callback.body).status_code == 400


_parts = st.text(alphabet=st.sampled_from("aA:{}%% \x00\n_"), max_size=6)


@given(a=st.tuples(_parts, _parts, _parts), b=st.tuples(_parts, _parts, _parts))
def test_no_two_transport_user_msgid_triples_share_a_reply_key(a, b):
    def key(triple):
        transport, user, msg_id = triple
        return reply_key(Incoming(transport, TEST_CORP_ID, user, msg_id).user_key, transport, msg_id)

    assert (key(a) == key(b)) == (a == b)


def test_key_parts_keep_ordinary_ids_readable_and_escape_structure():
    assert key_parts("wwcorp", "zhang.san@x-1") == "wwcorp:zhang.san@x-1"
    assert key_part("A}:aibot:mA:{Z") == "A%7D%3Aaibot%3AmA%3A%7BZ"
    assert ":" not in key_part("a:b") and "{" not in key_part("{") and key_part("%") == "%25"


def test_a_crafted_user_id_does_not_get_another_users_cached_reply(client, settings, clock):
    """The review's collision: user ``A}:aibot:mA:{Z`` with msgid ``B`` met user A's msgid ``A:{Z}:aibot:mB``."""
    sim = AibotSimulator(settings.aibot, clock=clock)
    first = sim.text("A", "进度", msg_id="A:{Z}:aibot:mB")
    reply_a = client.post("/wecom/aibot", query_string=first.query, data=first.body)
    second = sim.text("A}:aibot:mA:{Z", "帮助", msg_id="B")
    reply_z = client.post("/wecom/aibot", query_string=second.query, data=second.body)
    assert reply_a.status_code == reply_z.status_code == 200
    assert sim.open_reply(reply_a.get_data()) != sim.open_reply(reply_z.get_data())


def test_log_lines_cannot_be_forged_with_control_characters():
    formatter = SafeFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "handled user=%s", ("vic\r\nERROR forged",), None)
    line = formatter.format(record)
    assert "\n" not in line and "\r" not in line
    assert line == "INFO handled user=vic\\r\\nERROR forged"
    assert formatter.format(logging.LogRecord("bot", logging.INFO, __file__, 1, "中文 ok", (), None)) == "INFO 中文 ok"


# -- response_url: only WeCom's origins ---------------------------------------------------------------
@pytest.fixture
def elsewhere(clock):
    """Another host: what a hostile payload's response_url would name."""
    with FakeWeCom(clock=clock) as server:
        yield server


def _sender(tmp_path, client, clock, wecom, **env) -> Sender:
    settings_ = load_settings(make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="s",
                                       WECOM_HTTP_TIMEOUT="0.5", **env))
    config = replace(SenderConfig.from_settings(settings_), backoff_base=0, backoff_max=0)
    origins = settings_.response_url_origins
    api = WeComAPI(settings_.wecom_api_base, client, corp_id=settings_.corp_id, secret=settings_.app_secret,
                   agent_id=settings_.agent_id, timeout=0.5, response_url_origins=origins)
    return Sender(Store(client), api, settings_, config, clock=clock)


def test_the_worker_never_posts_to_a_response_url_outside_wecom(tmp_path, redis_client, clock, wecom, elsewhere):
    sender = _sender(tmp_path, redis_client, clock, wecom)
    message = OutboxMessage(RESPONSE_URL, "**answer**", to_user="vic", url=elsewhere.response_url("x"),
                            fmt="markdown")
    redis_client.lpush(OUTBOX_QUEUE, message.to_json())
    for _ in range(3):
        sender.drain()
        clock.advance(60)
    assert elsewhere.calls() == []
    assert [r.content for r in wecom.delivered("message/send")] == ["**answer**"]  # the app took over


def test_allowed_origins_are_configurable(tmp_path, redis_client, clock, wecom, elsewhere):
    origin = elsewhere.base_url.split("/cgi-bin")[0]
    sender = _sender(tmp_path, redis_client, clock, wecom, WECOM_RESPONSE_URL_ORIGINS=origin)
    message = OutboxMessage(RESPONSE_URL, "**answer**", to_user="vic", url=elsewhere.response_url("x"),
                            fmt="markdown")
    redis_client.lpush(OUTBOX_QUEUE, message.to_json())
    assert sender.drain() == ["sent"]
    assert [r.content for r in elsewhere.delivered("response")] == ["**answer**"]
