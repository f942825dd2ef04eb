"""微信客服 under hostile input: any signed document at ``/wecom/kf`` and any JSON WeCom (or someone in
between) could put in a sync_msg page — a 4xx or a normal answer, never a 5xx, never a crashed pull."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings

from bot.core.keys import kf_cursor_key
from tests.support.hostile import app_plaintext_fast, fast_json, fast_text
from tests.support.kf import ACCOUNT, fixture_fake, fixture_kf  # noqa: F401 - the fixtures fake and kf

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plaintext=app_plaintext_fast)
def test_any_signed_document_at_the_kf_callback_is_never_a_5xx(kf, fake, plaintext):
    encrypted, signature, timestamp = fake.envelope.encrypt(plaintext, "7")
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": "7"}
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    assert kf.app.test_client().post("/wecom/kf", query_string=query, data=body).status_code < 500


@pytest.mark.parametrize("token", ["x" * 129, "a\r\nb", ""])
def test_an_unusable_token_or_account_is_a_400(kf, fake, token):
    xml = ("<xml><ToUserName>c</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
           f"<Event>kf_msg_or_event</Event><Token><![CDATA[{token}]]></Token><OpenKfId>{ACCOUNT}</OpenKfId></xml>")
    encrypted, signature, timestamp = fake.envelope.encrypt(xml, "7")
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": "7"}
    response = kf.app.test_client().post("/wecom/kf", query_string=query,
                                         data=f"<xml><Encrypt>{encrypted}</Encrypt></xml>")
    assert response.status_code == (200 if token == "" else 400)


def test_hostile_sync_msg_entries_are_skipped_and_the_rest_answered(kf, fake, redis_client):
    rnd = random.Random(20)
    fake.customer_text("wmBefore", "开始")
    for _ in range(60):
        entry = fast_json(rnd)
        if isinstance(entry, dict) and rnd.random() < 0.5:
            entry = {**entry, "origin": rnd.choice([3, 4, 5, "3", None]), "msgtype": rnd.choice(["text", "event"]),
                     "external_userid": rnd.choice(["wm\r\nx", "", fast_text(rnd), 7])}
        fake._append(ACCOUNT, entry if isinstance(entry, dict) else {"raw": entry})
    fake.customer_text("wmAfter", "开始")
    kf.post_event()
    kf.settle()
    assert len(fake.texts("wmBefore")) == 1 and len(fake.texts("wmAfter")) == 1
    assert redis_client.get(kf_cursor_key(ACCOUNT)) == f"c{len(fake.log[ACCOUNT])}"
