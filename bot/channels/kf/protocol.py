"""微信客服 payloads: the callback's event (XML, the app callback's envelope), sync_msg's messages (JSON)
and what the bot sends (text, msgmenu).

The callback carries no message, only "there is something to pull" (``Event=kf_msg_or_event``, a
``Token`` valid 10 minutes and the ``OpenKfId``); the messages come from ``kf/sync_msg``. Ids are
checked by the same rule as every channel's user ids (``bot.channels.wecom.identity``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from bot.channels.app.protocol import parse_xml, text_field
from bot.channels.wecom.envelope import CallbackRejected
from bot.channels.wecom.identity import normalise_user_id
from bot.channels.wecom.wire_text import clean_text
from bot.core.keys import key_parts
from bot.core.messages import Button, Incoming
from bot.core.textsplit import utf8_len
from bot.ocr import image_message

TRANSPORT = "kf"
PULL_EVENT = "kf_msg_or_event"
MAX_TOKEN_CHARS = 128  # WeCom: the token is at most 128 bytes
_MSGID_UNSAFE = re.compile(r"[^0-9A-Za-z_-]")

CUSTOMER, SYSTEM, RECEPTIONIST = 3, 4, 5  # origin


@dataclass(frozen=True)
class PullRequest:
    """A ``kf_msg_or_event`` callback: pull ``open_kfid``'s messages with ``token``."""

    open_kfid: str
    token: str


def pull_request(plaintext: str) -> PullRequest | None:
    """The callback's event, or None for an event of another kind (answered, ignored)."""
    raw = parse_xml(plaintext, "decrypted payload")
    if text_field(raw, "MsgType").lower() != "event":
        raise CallbackRejected("kf callback is not an event")
    if text_field(raw, "Event") != PULL_EVENT:
        return None
    open_kfid = normalise_user_id(text_field(raw, "OpenKfId") or None, "OpenKfId")
    token = text_field(raw, "Token").strip()
    if len(token) > MAX_TOKEN_CHARS or not token.isprintable():
        raise CallbackRejected("kf callback Token is not usable")
    return PullRequest(open_kfid, token)


@dataclass(frozen=True)
class KfMessage:
    """One sync_msg entry, checked: ids usable as key parts, fields of the right types."""

    msgid: str
    open_kfid: str
    external_userid: str
    origin: int
    msgtype: str
    send_time: float = 0.0
    text: str = ""
    menu_id: str | None = None
    media_id: str | None = None
    servicer: str | None = None
    event: dict[str, Any] = field(default_factory=dict)

    @property
    def event_type(self) -> str:
        return str(self.event.get("event_type") or "")


def read_message(item: Any, open_kfid: str) -> KfMessage:
    """One sync_msg entry, or CallbackRejected when WeCom (or anyone) sent something unusable."""
    if not isinstance(item, dict):
        raise CallbackRejected("sync_msg entry is not an object")
    msgid = item.get("msgid")
    if not isinstance(msgid, str) or not msgid or len(msgid) > 128 or not msgid.isprintable():
        raise CallbackRejected("sync_msg entry has no usable msgid")
    msgtype = str(item.get("msgtype") or "")
    event: dict[str, Any] = _obj(item, "event")
    user = item.get("external_userid") or event.get("external_userid")
    external_userid = normalise_user_id(user, "external_userid")
    origin = item.get("origin")
    if not isinstance(origin, int) or isinstance(origin, bool):
        raise CallbackRejected("sync_msg entry has no usable origin")
    text = _obj(item, "text")
    content = clean_text(_str(text, "content") or "")  # lone surrogates, control characters: as on every channel
    menu_id = _str(text, "menu_id")
    media = _str(_obj(item, msgtype), "media_id")
    servicer = _str(item, "servicer_userid")
    send_time = item.get("send_time")
    return KfMessage(msgid=msgid, open_kfid=open_kfid, external_userid=external_userid, origin=origin,
                     msgtype=msgtype, send_time=float(send_time) if isinstance(send_time, int) else 0.0,
                     text=content, menu_id=menu_id, media_id=media, servicer=servicer, event=event)


def _obj(parent: dict[str, Any], name: str) -> dict[str, Any]:
    value = parent.get(name)
    return value if isinstance(value, dict) else {}


def _str(parent: dict[str, Any], name: str) -> str | None:
    value = parent.get(name)
    return value if isinstance(value, str) and value else None


def to_incoming(message: KfMessage, *, welcome: bool = False) -> Incoming:
    """What the pipeline sees: the customer is ``external_userid`` under the kf account ``open_kfid``
    (the Incoming's corp_id), so one customer has one progress per kf account."""
    base: dict[str, Any] = {"transport": TRANSPORT, "corp_id": message.open_kfid, "user_id": message.external_userid,
            "msg_id": message.msgid, "chat_id": message.open_kfid}
    if welcome:
        return Incoming(**base, kind="event", event="welcome")
    if message.msgtype == "text" and message.menu_id:
        return Incoming(**base, kind="event", event="card_click", event_key=message.menu_id)
    if message.msgtype == "text":
        return Incoming(**base, text=message.text)
    if message.msgtype == "image" and message.media_id:  # a screenshot: read by the OCR process (bot.ocr)
        return image_message(TRANSPORT, message.open_kfid, message.external_userid, message.msgid,
                             media_id=message.media_id, via=TRANSPORT, chat_id=message.open_kfid)
    return Incoming(**base, kind="unsupported", extra={"msgtype": message.msgtype})


def user_key(open_kfid: str, external_userid: str) -> str:
    return key_parts(open_kfid, external_userid)


def our_msgid(outbox_id: str) -> str:
    """The msgid we give WeCom for an outbox entry: ≤ 32 bytes of [0-9a-zA-Z_-], the same on every retry."""
    safe = _MSGID_UNSAFE.sub("", outbox_id)
    if safe == outbox_id and len(safe) <= 32:
        return safe
    return "k" + hashlib.sha1(outbox_id.encode()).hexdigest()[:31]


def text_body(text: str, max_bytes: int) -> dict[str, Any]:
    return {"content": fit(text, max_bytes)}


def menu_body(text: str, buttons: tuple[Button, ...], max_bytes: int) -> dict[str, Any]:
    """A msgmenu: the reply as the head, one click item per button (its key comes back as ``menu_id``)."""
    return {"head_content": fit(text, max_bytes),
            "list": [{"type": "click", "click": {"id": b.key, "content": b.label or b.key}} for b in buttons]}


def fit(text: str, max_bytes: int) -> str:
    """One message, never several: a reply past the limit is cut at a character boundary with "…"."""
    if utf8_len(text) <= max_bytes:
        return text
    cut = text.encode("utf-8")[: max_bytes - 3].decode("utf-8", "ignore")
    return cut + "…"
