"""微信客服 as an outbound channel: ``kf/send_msg`` to one customer of one kf account, WeCom's limits enforced.

- One message, never parts: text (or ``msgmenu`` when the reply has buttons: step actions, "did you
  mean", 解决了吗？ — a click comes back as a text with ``menu_id``, read as a button press), cut at
  KF_REPLY_MAX_BYTES (default 2,048 bytes, the documented text limit) rather than split: every message
  costs one of the window's five.
- The window (``bot.channels.kf.state``): a place is reserved before sending, per outbox message (a retry
  is not counted twice). Outside the 48 h, or past 5 messages, the message is not sent: it becomes a
  dead letter reading "window closed", and the next customer message opens a new window.
- The session state: in 2 (the pool) or 3 (a receptionist) the bot sends nothing (dead letter, with
  the state). A reply that opens a hand-off carries ``meta.kf_trans``: after its text is delivered the
  session moves with ``kf/service_state/trans`` (to the named receptionist, else the pool).
- A welcome (``meta.kf_code``) goes through ``kf/send_msg_on_event`` within the code's 20 s, outside the window.
- The msgid WeCom gets is derived from the outbox id (``kf_protocol.our_msgid``), and remembered for
  three days (``kf_sent_key``) so a ``msg_send_fail`` event finds the message, and a retry after the text
  went out (the transfer failed) does not send the text again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis

from bot.channels.kf import protocol as proto
from bot.channels.kf.api import HUMAN, POOL, SEND_LIMIT, SESSION_STATE_REFUSED, TEXT_MAX_BYTES, KfAPI
from bot.channels.kf.state import CLOSED, FULL, WINDOW_MESSAGES, KfState
from bot.channels.wecom.api import WeComError
from bot.channels.wecom.failures import wecom_failures
from bot.core import conversation
from bot.core.keys import kf_sent_key
from bot.core.messages import Button
from bot.outbound.channel import TEXT, ChannelError, ChannelSpec, Content, Format
from bot.outbound.entry import KF, OutboxMessage
from bot.outbound.pacing import Limit

if TYPE_CHECKING:
    from collections.abc import Callable

MENU = "msgmenu"
SENT_TTL = 3 * 86400


def _not_sendable(why: str) -> ChannelError:
    """微信客服 will not take this message now or on a retry (window closed, a person has the customer)."""
    return ChannelError(why, permanent=True, refused=True)


class KfChannel:
    def __init__(self, api: KfAPI, client: redis.Redis, clock: Callable[[], float],
                 max_bytes: int = TEXT_MAX_BYTES) -> None:
        self.api = api
        self.redis = client
        self.clock = clock
        self.state = KfState(client, clock)
        self.max_bytes = max_bytes
        self.spec = ChannelSpec(KF, (Format(TEXT, max_bytes), Format(MENU, max_bytes)))

    def content(self, message: OutboxMessage) -> Content:
        text = message.meta.get("plain") or message.text
        msgtype = MENU if message.meta.get("buttons") else TEXT
        return Content(msgtype, proto.fit(text, self.max_bytes), self.max_bytes)

    def limits(self, message: OutboxMessage, target: str | None) -> list[Limit]:
        return []  # WeCom's kf limit is the window, enforced in send()

    def send(self, message: OutboxMessage, target: str | None, msgtype: str, part: str) -> None:
        open_kfid, touser = target or "", message.to_user or ""
        user_key = message.meta.get("user_key") or proto.user_key(open_kfid, touser)
        msgid = proto.our_msgid(message.id)
        with wecom_failures():
            if not self.redis.exists(kf_sent_key(msgid)):
                self._deliver(message, user_key, open_kfid, touser, msgid, msgtype, part)
            transfer = message.meta.get("kf_trans")
            if transfer:
                self._transfer(user_key, open_kfid, touser, transfer)

    def _deliver(self, message: OutboxMessage, user_key: str, open_kfid: str, touser: str, msgid: str,
                 msgtype: str, part: str) -> None:
        code = message.meta.get("kf_code")
        session = self.state.session(user_key)
        if int(session.get("state", 1)) in (POOL, HUMAN):
            raise _not_sendable(f"微信客服 session state {session.get('state')}: a person has the customer; "
                                "the bot sends nothing")
        body = self._body(message, msgtype, part)
        try:
            if code:
                if self.clock() > float(message.meta.get("code_expires") or 0):
                    raise _not_sendable("welcome_code expired (usable within 20 s)")
                self.api.send_on_event(str(code), msgid, msgtype, body)
            else:
                verdict = self.state.reserve(user_key, message.id)
                if verdict in (CLOSED, FULL):
                    why = ("more than 48 h since the customer's last message" if verdict == CLOSED else
                           f"{WINDOW_MESSAGES} messages sent since the customer's last message")
                    self._note_not_sent(user_key, message, part, f"window closed: {why}")
                    raise _not_sendable(f"window closed: {why}")
                self.api.send_msg(touser, open_kfid, msgid, msgtype, body)
        except WeComError as exc:
            if exc.errcode == SEND_LIMIT:
                raise _not_sendable(f"window closed (WeCom refused: {exc})") from exc
            if exc.errcode == SESSION_STATE_REFUSED:
                raise _not_sendable(f"微信客服 session not with the bot (WeCom refused: {exc})") from exc
            raise
        self.redis.set(kf_sent_key(msgid), message.to_json(), ex=SENT_TTL)

    def _note_not_sent(self, user_key: str, message: OutboxMessage, part: str, why: str) -> None:
        """The conversation staff read says the follow-up did not go out (the reminder's entry says it was queued)."""
        record = conversation.entry(at=self.clock(), text="", reply=part, template=str(message.meta.get("kind", "")),
                                    reading={"not_sent": why}, chat_type="single", by="window closed")
        with self.redis.pipeline(transaction=True) as pipe:
            conversation.add(pipe, user_key, record)
            pipe.execute()

    @staticmethod
    def _body(message: OutboxMessage, msgtype: str, part: str) -> dict[str, Any]:
        if msgtype == MENU:
            buttons = tuple(Button(str(b.get("key", "")), str(b.get("label", "")))
                            for b in message.meta.get("buttons") or [] if isinstance(b, dict))
            return proto.menu_body(part, buttons, len(part.encode("utf-8")) + 1)
        return proto.text_body(part, len(part.encode("utf-8")) + 1)

    def _transfer(self, user_key: str, open_kfid: str, touser: str, transfer: dict[str, Any]) -> None:
        """Move the session to a person: the named receptionist, else (or if WeCom refuses them) the pool."""
        state, servicer = int(transfer.get("state", POOL)), transfer.get("servicer")
        try:
            self.api.trans(open_kfid, touser, state, servicer if state == HUMAN else None)
        except WeComError as exc:
            if state != HUMAN or exc.errcode is None:
                raise
            state, servicer = POOL, None
            self.api.trans(open_kfid, touser, POOL)
        with self.redis.pipeline(transaction=True) as pipe:
            self.state.set_session(pipe, user_key, state, servicer=servicer, transferred_for=transfer.get("for"))
            pipe.execute()
