"""Text from the wire is text: every id and text field of an ``Incoming`` normalised once, at the edge.

Every way in (the app callback, the AI-bot callback, the long connection, 微信客服) builds its
``Incoming`` and passes it through ``normalise`` before anything else sees it, so the pipeline, Redis
and the logs only ever get valid, printable Unicode:

- ids (user, message, chat, button key, response_url, task id) must be printable text: a lone
  surrogate (JSON's ``"\\ud800"``, which redis-py cannot encode) or a control character is not WeCom's,
  so the callback answers 400 (``CallbackRejected``) and the long connection drops the frame with a
  log line;
- what people wrote is kept: lone surrogates become U+FFFD, CR LF and CR become LF, other control
  characters (C0, DEL, C1, U+FFFE/U+FFFF — XML 1.0 cannot carry most of them) are dropped; tabs and
  newlines stay.

``clean_id`` and ``clean_text`` are the same rules for one value (a stream id, a frame's req_id).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.channels.wecom.envelope import CallbackRejected
from bot.core.messages import Incoming

MAX_ID_CHARS = 1024  # a response_url is the longest id; WeCom's are a few hundred characters
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")  # and XML's two non-characters


def clean_text(value: str) -> str:
    """What a person wrote, as valid printable text (see the module docstring)."""
    value = _SURROGATE.sub("\ufffd", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)


def clean_id(value: str, what: str) -> str:
    """An id as it came, or CallbackRejected (400) when it is not printable text of a sane length."""
    if not value or len(value) > MAX_ID_CHARS or not value.isprintable():
        raise CallbackRejected(f"{what} is not a usable id (empty, too long, or with control/surrogate characters)")
    return value


def _clean_extra(value: Any) -> Any:
    """``extra`` holds quotes (text), ids and flags: every string in it is cleaned as text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_extra(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_extra(v) for v in value]
    return value


def normalise(incoming: Incoming) -> Incoming:
    """The message with every id checked and every text cleaned; CallbackRejected (400) for a bad id."""
    ids = {name: clean_id(getattr(incoming, name), name) for name in ("user_id", "msg_id")}
    for name in ("chat_id", "event_key", "response_url"):
        value = getattr(incoming, name)
        if value is not None and value != "":
            ids[name] = clean_id(value, name)
    extra = _clean_extra(incoming.extra)
    for name in ("task_id", "response_url"):
        if isinstance(incoming.extra.get(name), str) and incoming.extra[name]:
            extra[name] = clean_id(incoming.extra[name], f"extra.{name}")
    return replace(incoming, text=clean_text(incoming.text), extra=extra, **ids)
