"""Play WeCom's part for the AI bot: build signed, encrypted JSON callbacks and open the bot's replies.

Used by ``python -m bot chat --aibot`` and the tests, so both drive the bot through exactly what
WeCom posts to ``/wecom/aibot``.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable
from typing import Any

from bot.channels.wecom.envelope import Envelope, SignedQuery
from bot.config import CallbackCredentials
from bot.demo.simulate_app import SignedCallback

AIBOT_ID = "aibot-simulator"


class AibotSimulator:
    """Builds what WeCom posts to an AI bot's callback URL (receive id "")."""

    def __init__(self, credentials: CallbackCredentials, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.envelope = Envelope(credentials, max_age=0, clock=clock)

    @staticmethod
    def new_msg_id() -> str:
        return secrets.token_urlsafe(18)

    def _base(self, user: str, chat_id: str | None, msg_id: str | None, msgtype: str) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "msgid": msg_id or self.new_msg_id(),
            "aibotid": AIBOT_ID,
            "chattype": "group" if chat_id else "single",
            "from": {"userid": user},
            "msgtype": msgtype,
        }
        if chat_id:
            doc["chatid"] = chat_id
        return doc

    def text(self, user: str, text: str, chat_id: str | None = None, bot_name: str = "助手",
             msg_id: str | None = None, response_url: str | None = None) -> SignedCallback:
        """A text message; in a group WeCom only calls the bot when it is @-mentioned, inside the text."""
        doc = self._base(user, chat_id, msg_id, "text")
        doc["response_url"] = response_url or self.response_url()
        doc["text"] = {"content": f"@{bot_name} {text}" if chat_id and bot_name else text}
        return self.wrap(doc)

    def image(self, user: str, url: str, chat_id: str | None = None, text: str | None = None,
              bot_name: str = "助手", msg_id: str | None = None, response_url: str | None = None) -> SignedCallback:
        """An image (single chat) or, with ``text`` or in a group, a mixed message: text + picture. The
        picture is a download URL; the file is encrypted with the bot's EncodingAESKey."""
        mixed = text is not None or chat_id is not None
        doc = self._base(user, chat_id, msg_id, "mixed" if mixed else "image")
        doc["response_url"] = response_url or self.response_url()
        if mixed:
            words = f"@{bot_name} {text or ''}".strip() if chat_id and bot_name else (text or "")
            doc["mixed"] = {"msg_item": [{"msgtype": "text", "text": {"content": words}},
                                         {"msgtype": "image", "image": {"url": url}}]}
        else:
            doc["image"] = {"url": url}
        return self.wrap(doc)

    def event(self, user: str, eventtype: str, chat_id: str | None = None, msg_id: str | None = None,
              response_url: str | None = None, **fields: Any) -> SignedCallback:
        """An event; ``fields`` go into ``event.<eventtype>`` (event_key, task_id, type, id, ...)."""
        doc = self._base(user, chat_id, msg_id, "event")
        doc["create_time"] = int(self.clock())
        doc["event"] = {"eventtype": eventtype, **({eventtype: fields} if fields else {})}
        if response_url:
            doc["response_url"] = response_url
        return self.wrap(doc)

    def stream_refresh(self, user: str, stream_id: str, chat_id: str | None = None) -> SignedCallback:
        doc = self._base(user, chat_id, None, "stream")
        doc["stream"] = {"id": stream_id}
        return self.wrap(doc)

    @staticmethod
    def response_url() -> str:
        return f"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code={secrets.token_hex(16)}"

    def wrap(self, payload: dict[str, Any] | str, nonce: str | None = None) -> SignedCallback:
        plaintext = payload if isinstance(payload, str) else _dumps(payload)
        nonce = nonce or str(random.randint(10**8, 10**9))
        encrypted, signature, timestamp = self.envelope.encrypt(plaintext, nonce)
        query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        return SignedCallback(query, json.dumps({"encrypt": encrypted}).encode())

    def open_reply_json(self, body: str | bytes) -> dict[str, Any] | None:
        """Verify and decrypt the bot's passive reply; None for an empty body (no reply)."""
        if not body:
            return None
        envelope = json.loads(body)
        query = SignedQuery(envelope["msgsignature"], str(envelope["timestamp"]), envelope["nonce"])
        return json.loads(self.envelope.decrypt(query, envelope["encrypt"]))

    def open_reply(self, body: str | bytes) -> str:
        """The reply's text: stream content or welcome text ("" for no reply or a card update)."""
        reply = self.open_reply_json(body)
        if reply is None:
            return ""
        for part in ("stream", "text"):
            if isinstance(reply.get(part), dict):
                return reply[part].get("content") or ""
        return ""


def _dumps(payload: dict[str, Any]) -> str:
    """JSON as WeCom writes it; a lone surrogate (not UTF-8 encodable) goes as its ``\\ud800`` escape."""
    text = json.dumps(payload, ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(payload)
    return text
