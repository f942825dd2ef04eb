"""The AI bot's long-connection frames (WeCom path/101463), free of I/O.

Every frame is JSON ``{"cmd", "headers": {"req_id"}, "body"}``. WeCom acknowledges every frame the
bot sends with a frame carrying the same ``req_id``, an ``errcode`` and no ``cmd``. Message and event
bodies have the shape of the AI-bot callback's decrypted JSON, so they are read by
``bot.channels.aibot.protocol`` — this module only knows the envelope around them.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from bot.channels.wecom.envelope import CallbackRejected

# bot -> WeCom
SUBSCRIBE = "aibot_subscribe"
PING = "ping"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
SEND = "aibot_send_msg"
# WeCom -> bot
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
DISCONNECTED = "disconnected_event"  # a newer connection of the same bot took over

THROTTLED = 45009  # "too many requests": on subscribe, a reconnect storm
BUSY = -1
MAX_FRAME_BYTES = 1 << 20


def new_req_id(prefix: str) -> str:
    """``<cmd>_<ms>_<random>``, the official SDKs' shape: unique, and readable in logs."""
    return f"{prefix}_{int(time.time() * 1000)}_{os.urandom(4).hex()}"


def frame(cmd: str, req_id: str, body: dict[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
    if body is not None:
        doc["body"] = body
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if any("\ud800" <= ch <= "\udfff" for ch in text):  # not UTF-8: a lone surrogate goes as its \u escape
        return json.dumps(doc, separators=(",", ":"))
    return text


def ack(req_id: str, errcode: int = 0, errmsg: str = "ok") -> str:
    """What WeCom answers to a frame (used by the fake WeCom)."""
    return json.dumps({"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg}, ensure_ascii=False)


def parse(raw: str | bytes) -> dict[str, Any]:
    """A frame as a dict with a string ``req_id`` under headers; anything else is rejected."""
    if len(raw) > MAX_FRAME_BYTES:
        raise CallbackRejected("frame too large")
    try:
        doc = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:
        raise CallbackRejected(f"frame is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(doc, dict):
        raise CallbackRejected("frame is not a JSON object")
    headers = doc.get("headers")
    if not isinstance(headers, dict) or not isinstance(headers.get("req_id", ""), str):
        raise CallbackRejected("frame without headers.req_id")
    return doc


def req_id_of(doc: dict[str, Any]) -> str:
    return doc["headers"].get("req_id", "")


def body_of(doc: dict[str, Any]) -> dict[str, Any]:
    body = doc.get("body")
    if not isinstance(body, dict):
        raise CallbackRejected(f"{doc.get('cmd')} frame without a body object")
    return body


def event_type(body: dict[str, Any]) -> str:
    event = body.get("event")
    kind = event.get("eventtype") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else ""


def errcode_of(doc: dict[str, Any]) -> int:
    value = doc.get("errcode", 0)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return BUSY


def markdown(chat_id: str, content: str) -> dict[str, Any]:
    """The body of an ``aibot_send_msg``: a markdown message to a user's private chat or a group."""
    return {"chatid": chat_id, "msgtype": "markdown", "markdown": {"content": content}}
