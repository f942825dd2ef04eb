"""The self-built app callback's payloads: XML in, passive XML reply out (wechatpy.work)."""

from __future__ import annotations

import re
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.replies import TextReply
from wechatpy.work import parse_message

from bot.keys import key_parts
from bot.messages import Incoming
from bot.wecom.envelope import CallbackRejected, Envelope, SignedQuery
from bot.wecom.identity import normalise_user_id

TRANSPORT = "app"
TEXT_REPLY_MAX_BYTES = 2048  # WeCom cuts a text message past this; the pipeline sends the rest
_WELCOME_EVENTS = {"enter_agent", "subscribe"}
_MSG_ID = re.compile(r"[0-9]{1,20}")  # WeCom's MsgId: a 64-bit number


def encrypted_field(body: bytes) -> str:
    """The <Encrypt> of a callback body; any malformed body is the sender's fault (400)."""
    try:
        doc = xmltodict.parse(body, disable_entities=True)
    except (ExpatError, ValueError, TypeError) as exc:
        raise CallbackRejected(f"body is not valid XML ({type(exc).__name__})") from exc
    xml = doc.get("xml") if isinstance(doc, dict) else None
    encrypted = xml.get("Encrypt") if isinstance(xml, dict) else None
    if not isinstance(encrypted, str) or not encrypted:
        raise CallbackRejected("body has no <Encrypt>")
    return encrypted


def _text(raw: dict[str, Any], name: str) -> str:
    """A field read as text; nested elements where WeCom puts text are the sender's fault (400)."""
    value = raw.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CallbackRejected(f"<{name}> is not text")
    return value


def to_incoming(plaintext: str, corp_id: str) -> Incoming:
    """Normalise a decrypted message or event; unknown types become "unsupported".

    Fields are read from the parsed document, checked to be text: wechatpy's typed fields convert
    lazily (``int("abc")`` for a MsgId) and nested elements would reach ``str()`` of a deep dict.
    """
    try:
        msg = parse_message(plaintext)
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise CallbackRejected(f"decrypted payload is not a WeCom message ({type(exc).__name__})") from exc
    if msg is None:
        raise CallbackRejected("empty decrypted payload")
    raw = msg._data
    user = normalise_user_id(_text(raw, "FromUserName") or None, "FromUserName")
    msg_id = _text(raw, "MsgId")
    if msg_id and not _MSG_ID.fullmatch(msg_id):
        raise CallbackRejected("<MsgId> is not a number")
    created = _text(raw, "CreateTime")
    if msg.type == "text":
        if not msg_id:
            raise CallbackRejected("text message has no <MsgId>")
        return Incoming(TRANSPORT, corp_id, user, msg_id=f"m{int(msg_id)}", text=_text(raw, "Content"))
    if msg.type == "event":
        event = _text(raw, "Event").lower()
        key = _text(raw, "EventKey")
        # Events have no MsgId: the sender, the second and the event's own fields identify one.
        event_id = "e" + key_parts(user, created, event, key, _text(raw, "TaskId"))
        if event in _WELCOME_EVENTS:
            return Incoming(TRANSPORT, corp_id, user, msg_id=event_id, kind="event", event="welcome")
        if event in ("template_card_event", "click"):
            return Incoming(TRANSPORT, corp_id, user, msg_id=event_id, kind="event", event="card_click",
                            event_key=key)
        return Incoming(TRANSPORT, corp_id, user, msg_id=event_id, kind="event", event=event)
    # Without a MsgId, the sender, the second and the type identify a message, so retries still dedupe.
    other_id = f"m{int(msg_id)}" if msg_id else "u" + key_parts(user, created, msg.type)
    return Incoming(TRANSPORT, corp_id, user, msg_id=other_id, kind="unsupported")


def reply_xml(envelope: Envelope, incoming: Incoming, text: str, query: SignedQuery) -> str:
    """The passive reply: a text message, encrypted into the XML envelope.

    Length is the pipeline's business: it splits a reply at TEXT_REPLY_MAX_BYTES and sends the rest.
    """
    reply = TextReply(source=incoming.corp_id, target=incoming.user_id, content=text)
    encrypted, signature, timestamp = envelope.encrypt(reply.render(), query.nonce)
    return (
        f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{query.nonce}]]></Nonce></xml>"
    )

