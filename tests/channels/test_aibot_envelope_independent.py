"""The AI bot's JSON envelope checked against an implementation written here from the protocol text alone.

WeCom (path/101033): signature = sha1 of the sorted [token, timestamp, nonce, encrypt], hex; key =
base64decode(EncodingAESKey + "="); AES-256-CBC with IV = key[:16]; PKCS#7 padding to a multiple of
32; plaintext = 16 random bytes | 4-byte big-endian length | msg | receiveid ("" for the AI bot).
Reply envelope: {"encrypt", "msgsignature", "timestamp", "nonce"} with the callback's nonce.

Only ``cryptography`` and the standard library: not wechatpy, not bot.channels.wecom.envelope.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.support.environment import TEST_AIBOT_AES_KEY, TEST_AIBOT_TOKEN
from tests.support.phrases import STATUS_WITH_A_MENTION

PATH = "/wecom/aibot"
BLOCK = 32


class IndependentEnvelope:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        assert len(self.key) == 32
        self.receive_id = receive_id.encode()

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode()).hexdigest()

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, msg: str) -> str:
        body = msg.encode()
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body + self.receive_id
        pad = BLOCK - len(plain) % BLOCK  # 1..32, never 0
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> tuple[str, bytes]:
        """Returns (msg, receive id)."""
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
        pad = plain[-1]
        assert 1 <= pad <= BLOCK and plain[-pad:] == bytes([pad]) * pad, "bad PKCS#7 padding (block 32)"
        plain = plain[:-pad]
        (length,) = struct.unpack(">I", plain[16:20])
        return plain[20:20 + length].decode(), plain[20 + length:]

    def callback(self, payload: dict, timestamp: str, nonce: str) -> tuple[dict[str, str], bytes]:
        encrypted = self.encrypt(json.dumps(payload, ensure_ascii=False))
        query = {"msg_signature": self.signature(timestamp, nonce, encrypted), "timestamp": timestamp,
                 "nonce": nonce}
        return query, json.dumps({"encrypt": encrypted}).encode()

    def open_reply(self, body: bytes, expected_nonce: str) -> dict:
        envelope = json.loads(body)
        assert set(envelope) == {"encrypt", "msgsignature", "timestamp", "nonce"}
        assert envelope["nonce"] == expected_nonce
        timestamp = str(envelope["timestamp"])
        assert timestamp.isdigit()
        assert envelope["msgsignature"] == self.signature(timestamp, envelope["nonce"], envelope["encrypt"])
        msg, receive_id = self.decrypt(envelope["encrypt"])
        assert receive_id == b""  # the AI bot's receive id is the empty string
        return json.loads(msg)


@pytest.fixture
def theirs() -> IndependentEnvelope:
    return IndependentEnvelope(TEST_AIBOT_TOKEN, TEST_AIBOT_AES_KEY)


def _message(user: str, text: str, msgid: str) -> dict:
    return {"msgid": msgid, "aibotid": "AIBOTID", "chatid": "CHATID", "chattype": "group",
            "from": {"userid": user}, "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?x=1",
            "msgtype": "text", "text": {"content": f"@RobotA {text}"}}


def test_their_callback_our_reply_their_check(client, clock, theirs, redis_client):
    timestamp, nonce = str(int(clock())), "1597212914"
    query, body = theirs.callback(_message("zoe", "开始", "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="), timestamp, nonce)
    response = client.post(PATH, query_string=query, data=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    reply = theirs.open_reply(response.get_data(), nonce)
    assert reply["msgtype"] in ("stream", "stream_with_template_card")
    assert reply["stream"]["finish"] is True
    assert reply["stream"]["content"].startswith("<@zoe>")
    assert "第1步" in reply["stream"]["content"]
    assert len(reply["stream"]["content"].encode()) <= 20480
    # WeCom's msgid is the dedupe key, as is
    assert list(redis_client.scan_iter(match="{wb}:reply:*:aibot:mCAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="))


def test_their_url_verification(client, clock, theirs):
    timestamp, nonce = str(int(clock())), "47744683"
    echostr = theirs.encrypt("1288432023552776189")
    query = {"msg_signature": theirs.signature(timestamp, nonce, echostr), "timestamp": timestamp,
             "nonce": nonce, "echostr": echostr}
    response = client.get(PATH, query_string=query)
    assert response.status_code == 200
    assert response.get_data() == b"1288432023552776189"  # no quotes, no newline


def test_our_simulator_output_opens_with_their_implementation(settings, clock, theirs):
    """The other direction for callbacks: what our side encrypts, theirs decrypts and verifies."""
    from bot.demo.simulate_aibot import AibotSimulator

    signed = AibotSimulator(settings.aibot, clock=clock).text("zoe", "进度", chat_id="g1")
    encrypted = json.loads(signed.body)["encrypt"]
    query = signed.query
    assert query["msg_signature"] == theirs.signature(query["timestamp"], query["nonce"], encrypted)
    msg, receive_id = theirs.decrypt(encrypted)
    assert receive_id == b""
    assert json.loads(msg)["text"]["content"] == STATUS_WITH_A_MENTION


@pytest.mark.parametrize("size", [0, 1, 11, 12, 43, 44, 100])
def test_padding_edges_round_trip(client, clock, theirs, size):
    """Plaintexts that land on and around the 32-byte block boundary (a full pad block when exact)."""
    timestamp, nonce = str(int(clock())), f"n{size}"
    echo = "x" * size or "0"
    echostr = theirs.encrypt(echo)
    query = {"msg_signature": theirs.signature(timestamp, nonce, echostr), "timestamp": timestamp,
             "nonce": nonce, "echostr": echostr}
    assert client.get(PATH, query_string=query).get_data(as_text=True) == echo


def test_their_wrong_receive_id_is_refused(client, clock):
    corp = IndependentEnvelope(TEST_AIBOT_TOKEN, TEST_AIBOT_AES_KEY, receive_id="ww1436e0e65a779aee")
    timestamp, nonce = str(int(clock())), "42"
    query, body = corp.callback(_message("zoe", "进度", "M-rid"), timestamp, nonce)
    assert client.post(PATH, query_string=query, data=body).status_code == 403


def test_their_signature_with_another_token_is_refused(client, clock):
    forger = IndependentEnvelope("someoneelse", TEST_AIBOT_AES_KEY)
    timestamp, nonce = str(int(clock())), "43"
    query, body = forger.callback(_message("zoe", "进度", "M-tok"), timestamp, nonce)
    assert client.post(PATH, query_string=query, data=body).status_code == 403
