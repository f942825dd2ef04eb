"""Signed hostile payloads (valid crypto, hostile content): a clear 4xx or a normal answer, never a 5xx.

Each case here once got an HTTP 500 and a stack trace from a real review; the fuzz tests
(tests/robustness/test_fuzz.py) look for more of them.
"""

from __future__ import annotations

import json

import pytest

from bot.wecom.envelope import Envelope
from tests.transports import AIBOT, APP, TRANSPORTS, transport_id


def _resign(envelope: Envelope, query: dict[str, str], encrypted: str, timestamp: str) -> dict[str, str]:
    """The same callback under another timestamp, signed again with the real token."""
    return {**query, "timestamp": timestamp,
            "msg_signature": envelope.signature(timestamp, query["nonce"], encrypted)}


@pytest.mark.parametrize("timestamp", ["²", "١٢٣", "１２３", "12³", "⁴⁵", "+12", " 12", "1_0"])
@pytest.mark.parametrize("transport", TRANSPORTS, ids=transport_id)
def test_timestamps_that_are_not_ascii_digits_are_a_400(client, app_sim, aibot_sim, transport, timestamp):
    envelope = {APP: app_sim, AIBOT: aibot_sim}[transport].envelope
    encrypted = envelope.encrypt("hello", "1")[0]
    query = _resign(envelope, {"nonce": "1"}, encrypted, timestamp)
    assert client.get(transport.path, query_string={**query, "echostr": encrypted}).status_code == 400
    body = transport.envelope_body(encrypted).encode()
    assert client.post(transport.path, query_string=query, data=body).status_code == 400


def test_app_message_with_a_non_numeric_msgid_is_answered(client, app_sim):
    xml = ("<xml><ToUserName>c</ToUserName><FromUserName>vic</FromUserName><CreateTime>1</CreateTime>"
           "<MsgType>text</MsgType><Content>开始</Content><MsgId>abc</MsgId><AgentID>1</AgentID></xml>")
    callback = app_sim.wrap(xml)
    response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
    assert response.status_code < 500


@pytest.mark.parametrize("msgtype", [[], {}, [1, 2], {"a": 1}, 3.5, True])
def test_aibot_unhashable_or_odd_msgtype_is_not_a_500(client, aibot_sim, msgtype):
    doc = {"msgid": "m1", "from": {"userid": "vic"}, "chattype": "single", "msgtype": msgtype}
    callback = aibot_sim.wrap(doc)
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    assert response.status_code < 500


@pytest.mark.parametrize("value", ["9" * 5000, "1" * 4301, "int:5000"])
def test_aibot_feedback_type_with_thousands_of_digits_is_not_a_500(client, aibot_sim, value):
    doc = {"msgid": "f1", "from": {"userid": "vic"}, "chattype": "single", "msgtype": "event",
           "event": {"eventtype": "feedback_event", "feedback_event": {"id": "x", "type": value}}}
    text = json.dumps(doc)
    if value == "int:5000":  # a bare JSON integer of 5,000 digits
        text = text.replace('"int:5000"', "7" * 5000)
    callback = aibot_sim.wrap(text)
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    assert response.status_code < 500


@pytest.mark.parametrize("value", ["1" + "0" * 5000, "-1" + "0" * 400, "1e999", "-0.0"])
def test_aibot_huge_integers_anywhere_are_not_a_500(client, aibot_sim, value):
    doc = (f'{{"msgid": {value}, "from": {{"userid": {value}}}, "msgtype": "text", '
           f'"text": {{"content": "hi"}}, "create_time": {value}}}')
    callback = aibot_sim.wrap(doc)
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    assert response.status_code < 500


def test_deeply_nested_app_content_is_a_4xx_not_a_recursion_error(client, app_sim):
    nested = "<a>" * 5000 + "x" + "</a>" * 5000
    xml = ("<xml><ToUserName>c</ToUserName><FromUserName>vic</FromUserName><CreateTime>1</CreateTime>"
           f"<MsgType>text</MsgType><Content>{nested}</Content><MsgId>7</MsgId></xml>")
    callback = app_sim.wrap(xml)
    response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
    assert response.status_code < 500


def test_deeply_nested_outer_body_is_a_400(client, app_sim):
    callback = app_sim.text("vic", "开始")
    body = b"<xml>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</xml>"
    response = client.post("/wecom/callback", query_string=callback.query, data=body)
    assert response.status_code == 400


def test_deeply_nested_aibot_json_is_a_400(client, aibot_sim):
    callback = aibot_sim.wrap('{"msgid": ' + "[" * 10000 + "]" * 10000 + "}")
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    assert response.status_code == 400
