"""Both signed callbacks, the self-built app (XML) and the AI bot (JSON), checked the same way: URL
verification, signature, freshness, key, garbage bodies, size, query parameters. Each test runs once
per transport (tests/transports.py); what only one transport has stays in its own file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.channels.wecom.envelope import Envelope
from tests.support.transports import AIBOT, APP, TRANSPORTS, transport_id


@pytest.fixture(params=TRANSPORTS, ids=transport_id)
def transport(request):
    return request.param


@pytest.fixture
def sim(request, transport):
    return request.getfixturevalue(transport.sim_fixture)


def _post(client, transport, callback, **overrides):
    return client.post(transport.path, query_string={**callback.query, **overrides}, data=callback.body)


# -- URL verification ---------------------------------------------------------------------------
def test_url_verification_round_trip(client, transport, sim):
    signed = sim.wrap("echo-1234")
    # For URL verification the signed value is the echostr itself
    query = {**signed.query, "echostr": transport.encrypted_of(signed.body)}
    response = client.get(transport.path, query_string=query)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "echo-1234"


def test_verification_without_echostr_is_400(client, transport, sim):
    assert client.get(transport.path, query_string=sim.text("a", "b").query).status_code == 400


# -- hostile input: 4xx, never 500 --------------------------------------------------------------
def test_forged_signature_is_403(client, transport, sim):
    response = _post(client, transport, sim.text("alice", "进度"), msg_signature="0" * 40)
    assert response.status_code == 403
    assert b"Traceback" not in response.get_data()


def test_stale_timestamp_is_403(client, transport, settings, clock):
    old = transport.simulator(transport.credentials(settings), clock=lambda: clock() - 3600)
    response = _post(client, transport, old.text("alice", "进度"))
    assert response.status_code == 403
    assert b"stale" in response.get_data()


def test_future_timestamp_is_403(client, transport, settings, clock):
    ahead = transport.simulator(transport.credentials(settings), clock=lambda: clock() + 3600)
    assert _post(client, transport, ahead.text("alice", "进度")).status_code == 403


def test_wrong_key_is_4xx(client, transport, settings, clock):
    """The right token and receive id (the CorpID for the app, empty for the AI bot), another key."""
    other = transport.simulator(replace(transport.credentials(settings), encoding_aes_key="B" * 43), clock=clock)
    assert 400 <= _post(client, transport, other.text("alice", "进度")).status_code < 500


GARBAGE = {
    APP: [
        b"",
        b"garbage",
        b"<xml><ToUserName>x</ToUserName></xml>",
        b"<xml><Encrypt></Encrypt></xml>",
        b"<xml><Encrypt><![CDATA[!!!not-base64!!!]]></Encrypt></xml>",
        b"\xff\xfe\x00<xml>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>',
        b'<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>',
        b"<xml><Encrypt><a>nested</a></Encrypt></xml>",
        b"[1, 2, 3]",
    ],
    AIBOT: [
        b"",
        b"garbage",
        b"\xff\xfe\x00{",
        b"[1, 2, 3]",
        b'"encrypt"',
        b"null",
        b"{}",
        b'{"encrypt": ""}',
        b'{"encrypt": null}',
        b'{"encrypt": 12345}',
        b'{"encrypt": ["a"]}',
        b'{"encrypt": {"x": 1}}',
        b'{"encrypt": "!!!not-base64!!!"}',
        b"[" * 60000,
        b'{"encrypt": "' + b"A" * 100 + b'"',
        b"<xml><Encrypt>abc</Encrypt></xml>",
    ],
}


@pytest.mark.parametrize(("transport", "body"), [(t, body) for t in TRANSPORTS for body in GARBAGE[t]],
                         ids=transport_id)
def test_garbage_bodies_are_4xx(client, transport, sim, body):
    callback = sim.text("alice", "进度")
    response = client.post(transport.path, query_string=callback.query, data=body)
    assert 400 <= response.status_code < 500, response.status_code


def test_well_signed_garbage_ciphertext_is_4xx(client, transport, settings, clock):
    """A valid signature over an Encrypt that is not our cipher text: still the client's fault."""
    envelope = Envelope(transport.credentials(settings), clock=clock)
    for encrypted in ("QUJD", "A" * 44, "AAAA" * 8):
        ts, nonce = str(int(clock())), "123"
        query = {"msg_signature": envelope.signature(ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}
        response = client.post(transport.path, query_string=query, data=transport.envelope_body(encrypted))
        assert 400 <= response.status_code < 500, (encrypted, response.status_code)


def test_ten_megabyte_body_is_413(client, transport, sim):
    callback = sim.text("alice", "进度")
    response = client.post(transport.path, query_string=callback.query, data=transport.huge_body)
    assert response.status_code == 413


@pytest.mark.parametrize("missing", ["msg_signature", "timestamp", "nonce"])
def test_missing_query_parameters_are_400(client, transport, sim, missing):
    callback = sim.text("alice", "进度")
    query = {k: v for k, v in callback.query.items() if k != missing}
    assert client.post(transport.path, query_string=query, data=callback.body).status_code == 400


def test_non_numeric_timestamp_is_4xx(client, transport, sim):
    assert _post(client, transport, sim.text("alice", "进度"), timestamp="yesterday").status_code in (400, 403)
