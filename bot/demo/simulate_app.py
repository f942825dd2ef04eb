"""Play WeCom's part: build signed, encrypted callbacks and open the bot's encrypted replies.

Used by the local simulator (``python -m bot chat``), the tests and the benchmarks, so all of them
drive the bot through exactly what WeCom sends.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import xmltodict

from bot.channels.wecom.envelope import Envelope, SignedQuery
from bot.config import DEMO_AGENT_ID, CallbackCredentials

_msg_ids = itertools.count(random.randint(10**15, 10**16))


@dataclass(frozen=True)
class SignedCallback:
    query: dict[str, str]
    body: bytes

    @property
    def query_string(self) -> str:
        return "&".join(f"{k}={v}" for k, v in self.query.items())


# Characters XML 1.0 forbids: WeCom cannot send them, so the simulator drops them too.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _cdata(value: str) -> str:
    value = _XML_ILLEGAL.sub("", value)
    return "<![CDATA[{}]]>".format(value.replace("]]>", "]]]]><![CDATA[>"))


class AppSimulator:
    """Builds what WeCom posts to a self-built app's callback URL."""

    def __init__(self, credentials: CallbackCredentials, agent_id: int = DEMO_AGENT_ID,
                 clock: Callable[[], float] = time.time) -> None:
        self.credentials = credentials
        self.corp_id = credentials.receive_id
        self.agent_id = agent_id
        self.clock = clock
        self.envelope = Envelope(credentials, max_age=0, clock=clock)

    def new_msg_id(self) -> str:
        return str(next(_msg_ids))

    def text(self, user: str, content: str, msg_id: str | None = None) -> SignedCallback:
        msg_id = msg_id or self.new_msg_id()
        xml = (
            f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName><FromUserName>{_cdata(user)}</FromUserName>"
            f"<CreateTime>{int(self.clock())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{_cdata(content)}</Content><MsgId>{msg_id}</MsgId><AgentID>{self.agent_id}</AgentID></xml>"
        )
        return self.wrap(xml)

    def image(self, user: str, media_id: str, msg_id: str | None = None) -> SignedCallback:
        """An image message: WeCom sends the picture's MediaId (fetched with media/get) and a PicUrl."""
        msg_id = msg_id or self.new_msg_id()
        xml = (
            f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName><FromUserName>{_cdata(user)}</FromUserName>"
            f"<CreateTime>{int(self.clock())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl>{_cdata('https://wework.qpic.cn/wwpic/demo/0')}</PicUrl><MediaId>{_cdata(media_id)}</MediaId>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{self.agent_id}</AgentID></xml>"
        )
        return self.wrap(xml)

    def event(self, user: str, event: str, key: str = "") -> SignedCallback:
        xml = (
            f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName><FromUserName>{_cdata(user)}</FromUserName>"
            f"<CreateTime>{int(self.clock())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event>{_cdata(event)}</Event><EventKey>{_cdata(escape(key))}</EventKey>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )
        return self.wrap(xml)

    def wrap(self, plaintext: str, nonce: str | None = None) -> SignedCallback:
        nonce = nonce or str(random.randint(10**8, 10**9))
        encrypted, signature, timestamp = self.envelope.encrypt(plaintext, nonce)
        body = (
            f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt>"
            f"<AgentID>{_cdata(str(self.agent_id))}</AgentID></xml>"
        )
        query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        return SignedCallback(query, body.encode())

    def open_reply(self, xml: str | bytes) -> str:
        """Verify and decrypt the bot's passive reply; return the text content ("" for no reply)."""
        if not xml:
            return ""
        doc = xmltodict.parse(xml)["xml"]
        query = SignedQuery(doc["MsgSignature"], str(doc["TimeStamp"]), doc["Nonce"])
        plain = self.envelope.decrypt(query, doc["Encrypt"])
        return xmltodict.parse(plain)["xml"].get("Content") or ""
