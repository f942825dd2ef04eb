"""The self-built app callback's payloads: XML in, passive XML reply out (wechatpy.work)."""

from __future__ import annotations

import re
import time
from typing import Any
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

import xmltodict

from bot.channels.wecom.envelope import CallbackRejected, Envelope, SignedQuery
from bot.channels.wecom.identity import normalise_user_id
from bot.channels.wecom.wire_text import clean_text
from bot.core.keys import key_parts
from bot.core.messages import Incoming

TRANSPORT = "app"
TEXT_REPLY_MAX_BYTES = 2048  # WeCom cuts a text message past this; the pipeline sends the rest
_WELCOME_EVENTS = {"enter_agent", "subscribe"}
MAX_ELEMENTS = 256  # WeCom's callbacks have a few dozen at most
_MSG_ID = re.compile(r"[0-9]{1,20}")  # WeCom's MsgId: a 64-bit number


def parse_xml(xml: str | bytes, what: str) -> dict[str, Any]:
    """The document's ``<xml>`` element as a dict, or CallbackRejected (400).

    Elements are counted first, at C speed: WeCom's documents have a few dozen, and a hostile one
    with thousands of nested elements would otherwise cost milliseconds of parsing (and a
    RecursionError wherever the deep result is printed).
    """
    text = xml.decode("utf-8", "replace") if isinstance(xml, bytes) else xml
    if _too_many_elements(text):
        raise CallbackRejected(f"{what} has more than {MAX_ELEMENTS} XML elements")
    try:
        doc = xmltodict.parse(xml, disable_entities=True)
    except (ExpatError, ValueError, TypeError, RecursionError) as exc:
        raise CallbackRejected(f"{what} is not valid XML ({type(exc).__name__})") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise CallbackRejected(f"{what} has no <xml> element")
    return root


def _too_many_elements(text: str) -> bool:
    """More than MAX_ELEMENTS start tags outside CDATA (a user's text may hold any number of "<")."""
    if text.count("<") <= MAX_ELEMENTS:
        return False
    count, i = 0, 0
    while (j := text.find("<", i)) >= 0:
        if text.startswith("<![CDATA[", j):
            end = text.find("]]>", j)
            if end < 0:
                return False  # unterminated: expat refuses it
            i = end + 3
            continue
        if text[j + 1:j + 2] not in ("/", "!", "?", ""):
            count += 1
            if count > MAX_ELEMENTS:
                return True
        i = j + 1
    return False


def encrypted_field(body: bytes) -> str:
    """The <Encrypt> of a callback body; any malformed body is the sender's fault (400)."""
    encrypted = parse_xml(body, "body").get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise CallbackRejected("body has no <Encrypt>")
    return encrypted


def text_field(raw: dict[str, Any], name: str) -> str:
    """A field read as text; nested elements where WeCom puts text are the sender's fault (400)."""
    value = raw.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CallbackRejected(f"<{name}> is not text")
    return value


def to_incoming(plaintext: str, corp_id: str) -> Incoming:
    """Normalise a decrypted message or event; unknown types become "unsupported".

    Fields are read from the parsed document and checked to be text (wechatpy's message classes
    convert lazily, ``int("abc")`` for a MsgId, and nested elements would reach ``str()`` of a dict).
    """
    if not plaintext:
        raise CallbackRejected("empty decrypted payload")
    raw = parse_xml(plaintext, "decrypted payload")
    msg_type = text_field(raw, "MsgType").lower()
    if not msg_type:
        raise CallbackRejected("decrypted payload is not a WeCom message (no <MsgType>)")
    user = normalise_user_id(text_field(raw, "FromUserName") or None, "FromUserName")
    msg_id = text_field(raw, "MsgId")
    if msg_id and not _MSG_ID.fullmatch(msg_id):
        raise CallbackRejected("<MsgId> is not a number")
    created = text_field(raw, "CreateTime")
    if msg_type == "text":
        if not msg_id:
            raise CallbackRejected("text message has no <MsgId>")
        return Incoming(TRANSPORT, corp_id, user, msg_id=f"m{int(msg_id)}", text=text_field(raw, "Content"))
    if msg_type == "event":
        event = text_field(raw, "Event").lower()
        key = text_field(raw, "EventKey")
        # Events have no MsgId: the sender, the second and the event's own fields identify one.
        event_id = "e" + key_parts(user, created, event, key, text_field(raw, "TaskId"))
        if event in _WELCOME_EVENTS:
            return Incoming(TRANSPORT, corp_id, user, msg_id=event_id, kind="event", event="welcome")
        if event in ("template_card_event", "click"):
            return Incoming(TRANSPORT, corp_id, user, msg_id=event_id, kind="event", event="card_click",
                            event_key=key)
        return Incoming(TRANSPORT, corp_id, user, msg_id=event_id, kind="event", event=event)
    # Without a MsgId, the sender, the second and the type identify a message, so retries still dedupe.
    other_id = f"m{int(msg_id)}" if msg_id else "u" + key_parts(user, created, msg_type)
    media_id = text_field(raw, "MediaId") if msg_type == "image" else ""
    if media_id:  # a screenshot: read by the OCR process (bot.ocr) from media/get
        return Incoming(TRANSPORT, corp_id, user, msg_id=other_id, kind="image",
                        extra={"image": {"media_id": media_id}})
    return Incoming(TRANSPORT, corp_id, user, msg_id=other_id, kind="unsupported")


def reply_xml(envelope: Envelope, incoming: Incoming, text: str, query: SignedQuery) -> str:
    """The passive reply: a text message, encrypted into the XML envelope.

    Length is the pipeline's business: it splits a reply at TEXT_REPLY_MAX_BYTES and sends the rest.
    """
    reply = _xml({"ToUserName": incoming.user_id, "FromUserName": incoming.corp_id,
                  "CreateTime": str(int(time.time())), "MsgType": "text", "Content": clean_text(text)})
    encrypted, signature, timestamp = envelope.encrypt(reply, query.nonce)
    return _xml({"Encrypt": encrypted, "MsgSignature": signature, "TimeStamp": timestamp, "Nonce": query.nonce})


def _xml(fields: dict[str, str]) -> str:
    """``<xml>`` with one text element per field, built by ElementTree (escaped, never pasted into CDATA:
    a ``]]>`` in a reply or a nonce stays text)."""
    root = ElementTree.Element("xml")
    for name, value in fields.items():
        ElementTree.SubElement(root, name).text = value
    return ElementTree.tostring(root, encoding="unicode")

