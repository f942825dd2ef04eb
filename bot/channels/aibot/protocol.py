"""The AI bot (智能机器人) callback's payloads: JSON in, JSON replies out (WeCom path/100719, 101027, 101031).

Everything WeCom-shaped about the AI bot lives here, free of I/O: reading the ``{"encrypt"}`` body,
normalising a decrypted message or event into an ``Incoming``, and building the passive replies
(stream, stream + button card, card update, welcome text) and their encrypted JSON envelope.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from bot.channels.wecom.envelope import CallbackRejected, Envelope
from bot.channels.wecom.identity import normalise_user_id
from bot.core.keys import key_parts
from bot.core.messages import Button, Incoming
from bot.core.textsplit import truncate_utf8

TRANSPORT = "aibot"
STREAM_MAX_BYTES = 20480  # WeCom: stream.content, UTF-8 bytes
MENTION_RESERVE = 80  # room kept for the "<@userid>" line in front of a group reply (userid <= 64 bytes)
TEXT_MAX_BYTES = 2048  # the enter_chat welcome is a plain text message
CARD_MAX_BUTTONS = 6  # button_interaction: button_list has at most 6 entries
MAX_ID_CHARS = 256  # msgid / stream id / user id longer than this is not WeCom's

_UNSUPPORTED = {"image", "file", "voice", "video"}
_FEEDBACK_TYPES = {1: "accurate", 2: "inaccurate", 3: "cancelled"}
_FEEDBACK_TYPE = re.compile(r"[0-9]{1,3}")  # ASCII digits: "²".isdigit() is true and int() refuses it
# "@name" at the start of the text or after whitespace, up to whitespace or the end. WeCom puts the
# bot's @mention inside the text ("@RobotA hello"), often followed by U+2005 or a full-width space.
_MENTION = re.compile(r"(?:^|(?<=\s))@[^\s@]+(?=\s|$)")
_HSPACE = re.compile(r"[^\S\n]+")


# -- in -----------------------------------------------------------------------------------------
def _loads(raw: str | bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise CallbackRejected(f"{what} is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(doc, dict):
        raise CallbackRejected(f"{what} is not a JSON object")
    return doc


def encrypted_field(body: bytes) -> str:
    """The ``encrypt`` of a callback body; any malformed body is the sender's fault (400)."""
    encrypted = _loads(body, "body").get("encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise CallbackRejected("body has no \"encrypt\" string")
    return encrypted


def parse_payload(plaintext: str) -> dict[str, Any]:
    return _loads(plaintext, "decrypted payload")


def stream_refresh_id(doc: dict[str, Any]) -> str | None:
    """For a stream refresh callback (WeCom polling a stream we opened), the stream id; else None."""
    if doc.get("msgtype") != "stream":
        return None
    stream = doc.get("stream")
    stream_id = stream.get("id") if isinstance(stream, dict) else None
    if not isinstance(stream_id, str) or not stream_id or len(stream_id) > MAX_ID_CHARS:
        raise CallbackRejected("stream refresh without a usable stream.id")
    return stream_id


def strip_mentions(text: str, bot_names: tuple[str, ...] = ()) -> str:
    """Drop @mentions (the bot's, wherever it is) and tidy the spaces WeCom puts around them.

    ``bot_names`` catches a bot name with spaces in it ("@Robot A"); any other "@word" goes too,
    which also drops @other-members — noise for commands and questions alike.
    """
    for name in bot_names:
        text = re.sub(rf"(?:^|(?<=\s))@{re.escape(name)}(?=\s|$)", " ", text)
    text = _MENTION.sub(" ", text)
    lines = (_HSPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _text_of(doc: dict[str, Any], bot_names: tuple[str, ...]) -> str | None:
    """The user's own words in a text or mixed message (None when there are none)."""
    msgtype = doc.get("msgtype")
    if msgtype == "text":
        parts = [_field(doc, "text", "content")]
    elif msgtype == "mixed":
        mixed = doc.get("mixed")
        items = mixed.get("msg_item") if isinstance(mixed, dict) else None
        items = items if isinstance(items, list) else []
        parts = [_field(item, "text", "content") for item in items
                 if isinstance(item, dict) and item.get("msgtype") == "text"]
    elif msgtype == "voice":  # WeCom sends the transcript: the user's words, spoken
        parts = [_field(doc, "voice", "content")]
    else:
        return None
    texts = [strip_mentions(p, bot_names) for p in parts if isinstance(p, str)]
    joined = "\n".join(t for t in texts if t)
    return joined if joined or msgtype == "text" else None


def _field(doc: Any, outer: str, inner: str) -> Any:
    value = doc.get(outer) if isinstance(doc, dict) else None
    return value.get(inner) if isinstance(value, dict) else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise CallbackRejected(f"payload has no usable {what}")
    return value


def to_incoming(doc: dict[str, Any], corp_id: str, bot_names: tuple[str, ...] = ()) -> Incoming:
    """Normalise a decrypted message or event. Types the bot cannot read become "unsupported"."""
    user = normalise_user_id(_field(doc, "from", "userid"), "from.userid")
    group = doc.get("chattype") == "group"
    common: dict[str, Any] = {
        "chat_type": "group" if group else "single",
        "chat_id": _str(doc.get("chatid")) or None,
    }
    msgtype = _str(doc.get("msgtype"))  # a list or dict here is not a type (and not hashable)
    if msgtype == "event":
        return _event(doc, corp_id, user, common)
    msg_id = "m" + _id(doc.get("msgid"), "msgid")
    response_url = _str(doc.get("response_url")) or None
    text = _text_of(doc, bot_names)
    image = _image_of(doc)
    if image is not None:  # a screenshot, alone or in a mixed message: read by the OCR process (bot.ocr)
        return Incoming(TRANSPORT, corp_id, user, msg_id=msg_id, text=text or "", kind="image",
                        response_url=response_url, extra={"image": image}, **common)
    if text is not None:
        extra = {"quote": quote} if (quote := _quote_text(doc.get("quote"))) else {}
        return Incoming(TRANSPORT, corp_id, user, msg_id=msg_id, text=text, response_url=response_url,
                        extra=extra, **common)
    extra = {"msgtype": msgtype if msgtype in _UNSUPPORTED or msgtype == "mixed" else "other"}
    return Incoming(TRANSPORT, corp_id, user, msg_id=msg_id, kind="unsupported", response_url=response_url,
                    extra=extra, **common)


def _image_of(doc: dict[str, Any]) -> dict[str, str] | None:
    """The first picture of an image or mixed message: its download URL (5 minutes) and, on the long
    connection, the file's own ``aeskey`` (the callback encrypts with the bot's EncodingAESKey)."""
    msgtype = doc.get("msgtype")
    if msgtype == "image":
        candidates = [doc.get("image")]
    elif msgtype == "mixed":
        items = _dict(doc.get("mixed")).get("msg_item")
        candidates = [i.get("image") for i in items if isinstance(i, dict) and i.get("msgtype") == "image"] \
            if isinstance(items, list) else []
    else:
        return None
    for image in candidates:
        url = _str(_dict(image).get("url"))
        if url.startswith(("https://", "http://")) and len(url) <= 4096:
            aeskey = _str(_dict(image).get("aeskey"))
            return {"url": url, "aeskey": aeskey} if aeskey and len(aeskey) <= 64 else {"url": url}
    return None


def _quote_text(quote: Any) -> str:
    """The quoted message's text, kept aside in ``extra``: the user's own words are the message."""
    if not isinstance(quote, dict):
        return ""
    return _text_of(quote, ()) or _str(_field(quote, "voice", "content"))


def _event(doc: dict[str, Any], corp_id: str, user: str, common: dict[str, Any]) -> Incoming:
    event = _dict(doc.get("event"))
    kind = _str(event.get("eventtype"))
    body = _dict(event.get(kind))
    key = _str(body.get("event_key"))
    task_id = _str(body.get("task_id"))
    # msgid is WeCom's dedupe key for events too; without it, the sender, the second and the event's
    # own fields identify one (two different clicks in the same second differ in key or task).
    msgid = doc.get("msgid")
    created = doc.get("create_time")
    created = created if isinstance(created, int | str) and not isinstance(created, bool) else ""
    fallback = ":" + key_parts(user, str(created)[:MAX_ID_CHARS], kind, key, task_id)
    msg_id = "e" + (_id(msgid, "msgid") if msgid else fallback)
    base = {"msg_id": msg_id, "kind": "event", **common}
    if kind == "enter_chat":
        return Incoming(TRANSPORT, corp_id, user, event="welcome", **base)
    if kind == "template_card_event":
        # The response_url of a click is spent on the answer (a click's passive reply can only update
        # the card), so it is not handed to the pipeline to keep for reminders.
        extra = {"task_id": task_id, "card_type": _str(body.get("card_type")),
                 "response_url": _str(doc.get("response_url"))}
        return Incoming(TRANSPORT, corp_id, user, event="card_click", event_key=key, extra=extra, **base)
    if kind == "feedback_event":
        value = body.get("type")
        value = int(value) if isinstance(value, str) and _FEEDBACK_TYPE.fullmatch(value) else value
        reasons = body.get("inaccurate_reason_list")
        feedback: dict[str, Any] = {"feedback_id": _str(body.get("id")), "content": _str(body.get("content")),
                                    "reasons": reasons if isinstance(reasons, list) else []}
        known = isinstance(value, int) and not isinstance(value, bool)
        label = _FEEDBACK_TYPES.get(value, "other") if isinstance(value, int) and known else "unknown"
        return Incoming(TRANSPORT, corp_id, user, event="feedback", event_key=label, extra=feedback, **base)
    return Incoming(TRANSPORT, corp_id, user, event=kind or "unknown", **base)


# -- out ----------------------------------------------------------------------------------------
def reply_ids(incoming: Incoming) -> tuple[str, str]:
    """(stream id, card task id), derived from the message id so a retried callback gets the same."""
    # The user is part of it: two users' messages never share a stream, whatever their msgids.
    digest = hashlib.sha1(key_parts(incoming.user_key, incoming.transport, incoming.msg_id).encode()).hexdigest()[:32]
    return f"wbs-{digest}", f"wbt-{digest}"


def addressed(text: str, mention: str | None) -> str:
    """In a group, start the reply with the user's mention so the thread stays readable."""
    return f"<@{mention}>\n{text}" if mention else text


def stream_content(text: str, mention: str | None) -> str:
    """The answer as a stream (or a response_url post) shows it: addressed, cut to STREAM_MAX_BYTES once."""
    return truncate_utf8(addressed(text, mention), STREAM_MAX_BYTES)


def stream_message(stream_id: str, content: str, *, feedback_id: str | None = None) -> dict[str, Any]:
    """A finished stream: the whole answer at once (the pipeline's reply is complete when we answer).

    ``content`` comes from :func:`stream_content`, already within WeCom's limit.
    """
    stream: dict[str, Any] = {"id": stream_id, "finish": True, "content": content}
    if feedback_id:
        stream["feedback"] = {"id": feedback_id}  # without it WeCom sends no feedback_event
    return {"msgtype": "stream", "stream": stream}


def button_card(task_id: str, title: str, buttons: tuple[Button, ...]) -> dict[str, Any]:
    """A button_interaction card: each button's key comes back as the click's event_key."""
    return {
        "card_type": "button_interaction",
        "main_title": {"title": title},
        "button_list": [{"text": b.label or b.key, "style": 1, "key": b.key} for b in buttons[:CARD_MAX_BUTTONS]],
        "task_id": task_id,
    }


def stream_with_card(stream_id: str, content: str, card: dict[str, Any]) -> dict[str, Any]:
    return {**stream_message(stream_id, content, feedback_id=stream_id), "msgtype": "stream_with_template_card",
            "template_card": card}


def card_update(card: dict[str, Any], user_id: str) -> dict[str, Any]:
    """The passive answer to a card click: replace the clicked card, for the clicker only."""
    return {"response_type": "update_template_card", "userids": [user_id], "template_card": card}


def text_message(content: str) -> dict[str, Any]:
    """Plain text: WeCom accepts it only as the answer to enter_chat."""
    return {"msgtype": "text", "text": {"content": truncate_utf8(content, TEXT_MAX_BYTES)}}


def seal(envelope: Envelope, reply: dict[str, Any], nonce: str) -> str:
    """Encrypt a reply into the JSON envelope; WeCom wants the callback's own nonce back."""
    plaintext = json.dumps(reply, ensure_ascii=False, separators=(",", ":"))
    encrypted, signature, timestamp = envelope.encrypt(plaintext, nonce)
    return json.dumps({"encrypt": encrypted, "msgsignature": signature, "timestamp": timestamp, "nonce": nonce})
