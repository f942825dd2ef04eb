"""Hostile input, property-based: whatever arrives, the callback answers 2xx/4xx, never 500.

Hypothesis drives three targets: the raw HTTP surface (any query and body), the decrypted payload
(any plaintext inside a valid envelope), and the command parser / handlers (any text a user types).
The number of inputs per target is HYPOTHESIS_EXAMPLES (default 300; CI's fuzz run sets more).
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.understand import INTENTS, Context
from bot.understand.factory import build_understander

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

chat_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "So", "Lo"]), max_size=100),
    st.sampled_from(["开始", "完成", "第3步", "勾选 2", "重置", "确认", "61004", "认证失败了", "😀" * 50,
                     "\x00\x01\x02", "]]>", "<xml>", "&amp;", "\u202e", "a" * 5000]),
)


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "x"]),
                             st.text(max_size=80), max_size=5),
       body=st.binary(max_size=2000))
def test_raw_http_never_500(client, query, body):
    for method in (client.post, client.get):
        response = method("/wecom/callback", query_string=query, data=body)
        assert response.status_code < 500, (query, body)
        assert b"Traceback" not in response.get_data()


@FUZZ
@given(plaintext=st.one_of(
    st.text(max_size=500),
    st.builds(lambda tag, inner: f"<xml><{tag}>{inner}</{tag}></xml>",
              st.sampled_from(["MsgType", "FromUserName", "Content", "Event", "MsgId"]), st.text(max_size=50)),
    st.builds(lambda t, c: f"<xml><FromUserName>u</FromUserName><MsgType>{t}</MsgType><Content>{c}</Content>"
                           f"<MsgId>1</MsgId></xml>",
              st.sampled_from(["text", "event", "image", "", "TEXT", "voice"]), st.text(max_size=50)),
))
def test_any_plaintext_in_a_valid_envelope_never_500(client, app_sim, plaintext):
    callback = app_sim.wrap(plaintext)
    response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
    assert response.status_code < 500, plaintext


@FUZZ
@given(text=chat_text)
def test_any_text_from_a_user_gets_a_reply(client, runtime, app_sim, text):
    runtime.services.rate_limit_per_minute = 0  # every input reaches the handlers
    callback = app_sim.text("fuzzer", text)
    response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
    assert response.status_code == 200, text
    assert app_sim.open_reply(response.get_data())  # always something to say


@settings(max_examples=EXAMPLES * 10, deadline=None)
@given(text=chat_text)
def test_understanding_is_total(text):
    """Any text, in any context, gets a reading (an intent or a question to the user), never an exception."""
    asked = Context(step=1, pending="confirm_reading", proposal={"intent": "done"})
    for context in (Context(), Context(step=3, cert="submitted", item_count=3), asked):
        assert build_understander().read(text, context).intent in INTENTS


@pytest.mark.parametrize("text", ["😀" * 3000, "长" * 7000, "\x00" * 100, "a\u0301" * 500, "<![CDATA[x]]>" * 50])
def test_oversized_and_odd_texts(say, text):
    assert say(text, user="odd")


# -- the AI bot's JSON callback ---------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr"]),
                             st.text(max_size=80), max_size=4),
       body=st.one_of(st.binary(max_size=1000), json_values.map(lambda v: json.dumps(v).encode())))
def test_aibot_raw_http_never_500(client, query, body):
    for method in (client.post, client.get):
        response = method("/wecom/aibot", query_string=query, data=body)
        assert response.status_code < 500, (query, body)


@FUZZ
@given(payload=st.one_of(
    json_values,
    st.fixed_dictionaries({
        "msgid": st.one_of(st.text(max_size=20), st.integers(), st.none()),
        "chattype": st.sampled_from(["single", "group", "", None, 3]),
        "from": st.one_of(st.fixed_dictionaries({"userid": st.one_of(st.text(max_size=12), st.none())}), json_values),
        "msgtype": st.sampled_from(["text", "mixed", "event", "stream", "image", "voice", "", None]),
        "text": st.one_of(st.fixed_dictionaries({"content": st.text(max_size=60)}), json_values),
        "event": json_values,
        "mixed": json_values,
        "stream": json_values,
    }),
))
def test_any_json_in_a_valid_aibot_envelope_never_500(client, settings, clock, payload):
    from bot.wecom.aibot_simulate import AibotSimulator

    sim = AibotSimulator(settings.aibot, clock=clock)
    callback = sim.wrap(json.dumps(payload))
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    assert response.status_code < 500, payload
