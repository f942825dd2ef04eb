"""Hostile input, property-based: whatever arrives, the callbacks answer 2xx/4xx, never a 5xx.

Hypothesis drives every endpoint with whole hostile documents (tests/hostile.py): the raw HTTP
surface (any query, any body), a valid signature over any timestamp / nonce / echostr, and any
decrypted payload inside a valid envelope — any XML shape for the app, any JSON value in any field
for the AI bot — plus any text a user types. The number of inputs per target is HYPOTHESIS_EXAMPLES
(default 300; CI sets 10,000, so each endpoint sees at least that many).
"""

from __future__ import annotations

import json
import logging
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.understand import INTENTS, Context
from bot.understand.factory import build_understander
from tests.support import hostile
from tests.support.environment import make_env
from tests.support.phrases import CERTIFICATION_FAILED, TICK_ITEM_2
from tests.support.transports import AIBOT, APP, TRANSPORTS, transport_id

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])

chat_text = st.one_of(
    hostile.text_fast, hostile.text_fast, hostile.text_fast,
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "So", "Lo"]), max_size=100),
    st.sampled_from(["开始", "完成", "第3步", TICK_ITEM_2, "重置", "确认", "61004", CERTIFICATION_FAILED, "😀" * 50,
                     "\x00\x01\x02", "]]>", "<xml>", "&amp;", "\u202e", "a" * 5000, "第²步", "勾选 ٣"]),
    hostile.tricky_text,
    hostile.secret_text,  # pasted secrets, in the ways people paste them
)


class _Tracebacks(logging.Handler):
    """Every log record that carries a stack trace (a handler failure, Flask's "Exception on ...")."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append(f"{record.name}: {record.getMessage()}")


TRACEBACKS = _Tracebacks()


@pytest.fixture(autouse=True)
def _count_tracebacks():
    root = logging.getLogger()
    TRACEBACKS.seen.clear()
    root.addHandler(TRACEBACKS)
    yield
    root.removeHandler(TRACEBACKS)


def _ok(response, context) -> None:
    assert response.status_code < 500, (response.status_code, context)
    assert b"Traceback" not in response.get_data(), context
    assert not TRACEBACKS.seen, (TRACEBACKS.seen, context)  # 0 tracebacks in the logs, not only no 5xx


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """As in production, metrics are flushed in batches and warnings are not printed: what is measured
    per input is the callback's own path (10,000 inputs per endpoint must fit in CI)."""
    return make_env(tmp_path, METRICS_FLUSH_SECONDS="3600", LOG_LEVEL="ERROR")


# -- both callbacks: /wecom/callback (the self-built app) and /wecom/aibot (the AI bot) -------------
@FUZZ
@given(query=hostile.query, body=st.one_of(hostile.app_body, hostile.aibot_body))
def test_raw_http_never_500(client, query, body):
    """Any query and body, on GET and POST of both callbacks: 4 endpoint inputs per example."""
    for path in ("/wecom/callback", "/wecom/aibot"):
        for method in (client.post, client.get):
            _ok(method(path, query_string=query, data=body), (path, query, body))


# -- the decrypted payload: any XML shape for the app, any JSON value in any field for the AI bot ----
PLAINTEXTS = {APP: hostile.app_plaintext_fast, AIBOT: hostile.aibot_plaintext_fast}


@pytest.mark.parametrize("transport", TRANSPORTS, ids=transport_id)
@FUZZ
@given(data=st.data())
def test_any_payload_in_a_valid_envelope_never_500(client, runtime, app_sim, aibot_sim, transport, data):
    """HYPOTHESIS_EXAMPLES payloads per transport. "Slow down" is a transient answer, and a 503 only ever
    deliberate: a card click meeting a transient state (busy, rate limited) is refused so that WeCom
    retries it; with the rate limit off and one request at a time, none is."""
    runtime.services.rate_limit_per_minute = 0
    sim = {APP: app_sim, AIBOT: aibot_sim}[transport]
    plaintext = data.draw(PLAINTEXTS[transport], label="plaintext")
    callback = sim.wrap(plaintext)
    _ok(client.post(transport.path, query_string=callback.query, data=callback.body), plaintext)


# -- what users type -------------------------------------------------------------------------------
@FUZZ
@given(text=chat_text, group=st.booleans())
def test_any_text_from_a_user_gets_a_reply(client, runtime, app_sim, aibot_sim, text, group):
    """Through either callback: the private chat (app) or the group (AI bot)."""
    runtime.services.rate_limit_per_minute = 0  # every input reaches the handlers
    sim, path, extra = (aibot_sim, "/wecom/aibot", {"chat_id": "grp"}) if group else (app_sim, "/wecom/callback", {})
    callback = sim.text("fuzzer", text if group else hostile.utf8_safe(text), **extra)
    response = client.post(path, query_string=callback.query, data=callback.body)
    assert response.status_code == 200, (path, text)
    assert sim.open_reply(response.get_data()), (path, text)  # always something to say
    assert not TRACEBACKS.seen, (TRACEBACKS.seen, text)


@FUZZ
@given(plaintext=hostile.aibot_plaintext_fast)
def test_a_long_connection_body_is_refused_or_clean_text(plaintext):
    """The long connection reads the AI-bot callback's JSON with the same code, then the same edge
    normalisation: a body is refused (the frame dropped with a log line) or every field is valid text."""
    from bot.channels.aibot import protocol as aibot_protocol
    from bot.channels.wecom import wire_text
    from bot.channels.wecom.envelope import CallbackRejected

    try:
        doc = aibot_protocol.parse_payload(plaintext)
        incoming = wire_text.normalise(aibot_protocol.to_incoming(doc, "corp"))
    except CallbackRejected:
        return
    extra = json.dumps(incoming.extra, ensure_ascii=False)
    for value in (incoming.user_id, incoming.msg_id, incoming.chat_id or "", incoming.text, extra):
        value.encode("utf-8")  # no lone surrogate left
        assert "\x00" not in value and "\x1b" not in value


def _signed(envelope, timestamp: str, nonce: str, echostr_plain: str) -> tuple[dict[str, str], str]:
    """A query validly signed over a hostile timestamp and nonce, and an encrypted echostr."""
    encrypted = envelope.encrypt(echostr_plain, "n")[0]
    signature = envelope.signature(timestamp, nonce, encrypted)
    return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, encrypted


@FUZZ
@given(timestamp=hostile.query_values, nonce=hostile.query_values, plain=hostile.tricky_text)
def test_valid_signature_over_any_timestamp_nonce_or_echostr_never_500(client, app_sim, aibot_sim, timestamp,
                                                                       nonce, plain):
    plain = hostile.utf8_safe(plain)
    for path, envelope in (("/wecom/callback", app_sim.envelope), ("/wecom/aibot", aibot_sim.envelope)):
        query, encrypted = _signed(envelope, timestamp, nonce, plain)
        _ok(client.get(path, query_string={**query, "echostr": encrypted}), (path, query, plain))
        body = (f"<xml><Encrypt>{encrypted}</Encrypt></xml>" if path == "/wecom/callback"
                else json.dumps({"encrypt": encrypted}))
        _ok(client.post(path, query_string=query, data=body), (path, query, plain))


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(text=chat_text)
def test_understanding_is_total(text):
    """Any text, in any context, gets a reading (an intent or a question to the user), never an exception.
    Understanding gets text as every way in hands it over: normalised at the edge (bot.channels.wecom.wire_text)."""
    from bot.channels.wecom.wire_text import clean_text

    text = clean_text(text)
    asked = Context(step=1, pending="confirm_reading", proposal={"intent": "done"})
    understander = build_understander()
    for context in (Context(), Context(step=3, cert="submitted", item_count=3), asked):
        reading = understander.read(text, context)
        # a declared intent, or a command answered from data (intents.yaml `answer:`) with its template
        assert reading.intent in INTENTS or understander.answers.get(reading.intent) == reading.answer is not None


@pytest.mark.parametrize("text", ["😀" * 3000, "长" * 7000, "\x00" * 100, "a\u0301" * 500, "<![CDATA[x]]>" * 50])
def test_oversized_and_odd_texts(say, text):
    assert say(text, user="odd")
