"""Signed hostile payloads (valid crypto, hostile content): a clear 4xx or a normal answer, never a 5xx.

Each case here once got an HTTP 500 and a stack trace from a real review; the fuzz tests
(tests/robustness/test_fuzz.py) look for more of them.
"""

from __future__ import annotations

import json

import pytest

from bot.channels.wecom.envelope import Envelope
from bot.core.conversation import recent
from bot.core.keys import key_parts
from tests.support.environment import TEST_CORP_ID
from tests.support.transports import AIBOT, APP, TRANSPORTS, transport_id


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


# -- text from the wire is text (bot.channels.wecom.wire_text) ------------------------------------------
def _no_tracebacks(caplog) -> None:
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("where", ["msgid", "from.userid", "chatid", "response_url"])
@pytest.mark.parametrize("surrogate", ["\ud800", "a\udfffb", "\udbff\ud800"])
def test_a_lone_surrogate_in_an_aibot_id_is_a_400(client, aibot_sim, caplog, where, surrogate):
    doc = {"msgid": "s1", "from": {"userid": "vic"}, "chattype": "group", "chatid": "grp", "msgtype": "text",
           "text": {"content": "开始"}, "response_url": "https://qyapi.weixin.qq.com/r?x=1"}
    if where == "from.userid":
        doc["from"] = {"userid": surrogate}
    else:
        doc[where] = surrogate
    callback = aibot_sim.wrap(json.dumps(doc))  # ASCII JSON: the surrogate travels as "\ud800", as WeCom would
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    assert response.status_code == 400
    _no_tracebacks(caplog)


def test_a_lone_surrogate_in_a_stream_id_is_a_400(client, aibot_sim, caplog):
    callback = aibot_sim.wrap(json.dumps({"msgid": "s2", "from": {"userid": "vic"}, "msgtype": "stream",
                                          "stream": {"id": "\ud800x"}}))
    assert client.post("/wecom/aibot", query_string=callback.query, data=callback.body).status_code == 400
    _no_tracebacks(caplog)


@pytest.mark.parametrize("content", ["开始\ud800", "\udfff", "进度\x00\x1b[31m\x7f\x85", "完成\r\n第二行\r"])
def test_surrogates_and_control_characters_in_text_are_replaced_and_answered(client, aibot_sim, redis_client,
                                                                            caplog, content):
    callback = aibot_sim.wrap(json.dumps({"msgid": "s3", "from": {"userid": "vic"}, "chattype": "single",
                                          "msgtype": "text", "text": {"content": content}}))
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    assert response.status_code == 200 and aibot_sim.open_reply(response.get_data())
    _no_tracebacks(caplog)
    [entry] = recent(redis_client, key_parts(TEST_CORP_ID, "vic"), 1)  # what staff see: cleaned text
    assert not any(ch in entry["text"] for ch in "\x00\x1b\x7f\x85\r\ud800\udfff")


@pytest.mark.parametrize("raw, clean", [("a\ud800b", "a\ufffdb"), ("x\r\ny\rz", "x\ny\nz"),
                                        ("\x00\x1b[1m\x85\ufffe", "[1m"), ("tab\tstays\n", "tab\tstays\n"),
                                        ("开始", "开始")])
def test_clean_text(raw, clean):
    from bot.channels.wecom.wire_text import clean_text

    assert clean_text(raw) == clean
    clean_text(raw).encode("utf-8")


@pytest.mark.parametrize("value", ["", "a\ud800", "a\nb", "a\x00", "x" * 2000, "\u202e"])
def test_clean_id_refuses_what_is_not_an_id(value):
    from bot.channels.wecom.envelope import CallbackRejected
    from bot.channels.wecom.wire_text import clean_id

    with pytest.raises(CallbackRejected):
        clean_id(value, "msgid")


def test_a_signed_nonce_cannot_inject_an_element_into_the_app_reply(client, app_sim):
    nonce = "]]><Injected>1</Injected><![CDATA["
    plain = app_sim.text("vic", "开始")
    callback = app_sim.wrap(app_sim.envelope.decrypt(_query(plain.query), _encrypt_of(plain.body)), nonce=nonce)
    response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
    assert response.status_code == 400 and b"Injected" not in response.get_data()


def test_app_reply_xml_is_built_by_a_library_whatever_the_nonce_and_text(app_sim):
    from xml.etree import ElementTree

    from bot.channels.app.protocol import reply_xml
    from bot.channels.wecom.envelope import SignedQuery
    from bot.core.messages import Incoming

    nonce, text = "]]><Injected>1</Injected><![CDATA[", "答复 ]]> <b>&amp; \x01"
    incoming = Incoming("app", app_sim.corp_id, "vic]]><x/>", "m1")
    xml = reply_xml(app_sim.envelope, incoming, text, SignedQuery("s", "1", nonce))
    root = ElementTree.fromstring(xml)
    assert [child.tag for child in root] == ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]
    assert root.findtext("Nonce") == nonce
    inner = ElementTree.fromstring(app_sim.envelope.decrypt(SignedQuery(root.findtext("MsgSignature"),
                                                                        root.findtext("TimeStamp"), nonce),
                                                            root.findtext("Encrypt")))
    assert inner.findtext("Content") == "答复 ]]> <b>&amp; " and inner.findtext("ToUserName") == "vic]]><x/>"


def _query(query: dict[str, str]):
    from bot.channels.wecom.envelope import SignedQuery

    return SignedQuery(query["msg_signature"], query["timestamp"], query["nonce"])


def _encrypt_of(body: bytes) -> str:
    import xmltodict

    return xmltodict.parse(body)["xml"]["Encrypt"]
