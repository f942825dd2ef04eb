"""The self-built app callback's payloads: XML in, passive XML reply out (wechatpy.work)."""

from __future__ import annotations

from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.replies import TextReply
from wechatpy.work import parse_message

from bot.messages import Incoming
from bot.wecom.envelope import CallbackRejected, Envelope, SignedQuery

TRANSPORT = "app"
TEXT_REPLY_MAX_BYTES = 2048  # WeCom cuts a text message past this; the pipeline sends the rest
_WELCOME_EVENTS = {"enter_agent", "subscribe"}


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


def to_incoming(plaintext: str, corp_id: str) -> Incoming:
    """Normalise a decrypted message or event; unknown types become "unsupported"."""
    try:
        msg = parse_message(plaintext)
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CallbackRejected(f"decrypted payload is not a WeCom message ({type(exc).__name__})") from exc
    if msg is None:
        raise CallbackRejected("empty decrypted payload")
    user = str(getattr(msg, "source", "") or "")
    if not user:
        raise CallbackRejected("message has no FromUserName")
    raw = msg._data
    if msg.type == "text":
        return Incoming(TRANSPORT, corp_id, user, msg_id=f"m{msg.id}", text=str(msg.content or ""))
    if msg.type == "event":
        event = str(raw.get("Event", "")).lower()
        key = str(raw.get("EventKey") or "")
        # Events have no MsgId: the sender, the second and the event's own fields identify one.
        msg_id = "e{}:{}:{}:{}:{}".format(user, raw.get("CreateTime", ""), event, key, raw.get("TaskId", ""))
        if event in _WELCOME_EVENTS:
            return Incoming(TRANSPORT, corp_id, user, msg_id=msg_id, kind="event", event="welcome")
        if event in ("template_card_event", "click"):
            return Incoming(TRANSPORT, corp_id, user, msg_id=msg_id, kind="event", event="card_click",
                            event_key=key)
        return Incoming(TRANSPORT, corp_id, user, msg_id=msg_id, kind="event", event=event)
    # Without a MsgId, the sender, the second and the type identify a message, so retries still dedupe.
    msg_id = f"m{raw.get('MsgId')}" if raw.get("MsgId") else f"u{user}:{raw.get('CreateTime', '')}:{msg.type}"
    return Incoming(TRANSPORT, corp_id, user, msg_id=msg_id, kind="unsupported")


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

