"""One sync_msg message through the bot: the customer's answered, a receptionist's recorded, events acted on.

- origin 3 (the customer): the same ``Pipeline.process`` as every channel; its reply is queued for
  ``kf/send_msg`` (one message per customer message: never split, ``bot.channels.kf.protocol.fit``) with an id
  derived from the msgid, in one MULTI with the message's done marker and the customer's new window.
  While a person has the session (state 2/3) the message is only recorded.
- origin 5 (a receptionist in WeCom's workbench): recorded in the conversation, never answered.
- origin 4 (events): ``enter_session`` (welcome through send_msg_on_event, once in 48 h),
  ``session_status_change`` (the bot steps back or resumes), ``msg_send_fail`` (the outbox entry becomes a
  dead letter with the reason), ``user_recall_msg`` (recorded).

Exactly once: a message whose done marker exists is skipped (a re-read page after a crash, a
duplicate pull); one handled by the pipeline but not yet marked gets the pipeline's cached reply,
queued again under the same outbox id, which the sender sends at most once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import redis

from bot.channels.kf import protocol as proto
from bot.channels.kf.api import ENDED, HUMAN, NEW, POOL, TEXT_MAX_BYTES
from bot.channels.kf.state import KfState
from bot.core import conversation, handoff_state
from bot.core.handoffs import HandoffDesk, NotInQueue
from bot.core.keys import DEAD_LETTERS, kf_done_key, kf_media_key, kf_sent_key
from bot.core.messages import Outgoing, Reply
from bot.core.pipeline import Pipeline
from bot.core.redact import redact_secrets
from bot.core.render import TEXT
from bot.core.store import UserBusy
from bot.infra.redis_conn import optional_str
from bot.outbound.entry import KF, OutboxMessage
from bot.outbound.queue import add as outbox_add

log = logging.getLogger(__name__)

DONE_TTL = 3 * 86400 + 3600  # WeCom returns a message for 3 days
MEDIA_TTL = 3 * 86400  # a temporary media_id lives 3 days
MEDIA_KEPT = 20
WELCOME_CODE_SECONDS = 20.0  # WeCom: a welcome_code is usable once, within 20 s
# session_status_change's change_type (path/94670): 1 taken from the pool, 2 transferred, 3 ended, 4 re-taken
_CHANGE_TO_STATE = {1: HUMAN, 2: HUMAN, 3: ENDED, 4: HUMAN}


class KfInbound:
    def __init__(self, pipeline: Pipeline, state: KfState, *, servicer: str | None = None,
                 reply_max_bytes: int = TEXT_MAX_BYTES) -> None:
        self.pipeline = pipeline
        self.services = pipeline.services
        self.redis: redis.Redis = pipeline.services.store.redis
        self.state = state
        self.servicer = servicer  # the receptionist a hand-off goes to (state 3); None: the pool (state 2)
        self.reply_max_bytes = reply_max_bytes

    @property
    def clock(self) -> Callable[[], float]:
        return self.services.clock

    def handle(self, message: proto.KfMessage) -> str:
        """Handle one message at most once; returns what happened (for logs and tests)."""
        done = kf_done_key(message.open_kfid, message.msgid)
        if self.redis.exists(done):
            return "duplicate"
        if message.origin == proto.CUSTOMER:
            return self._customer(message, done)
        if message.origin == proto.RECEPTIONIST:
            return self._receptionist(message, done)
        if message.msgtype == "event":
            return self._event(message, done)
        self._finish(done)
        return "ignored"

    # -- the customer ---------------------------------------------------------------------------------------
    def _customer(self, message: proto.KfMessage, done: str) -> str:
        key = proto.user_key(message.open_kfid, message.external_userid)
        sent_at = message.send_time or self.clock()
        state = self.state.state(key)
        if state in (POOL, HUMAN):
            self._record(key, done, sent_at, message, held=True)
            return "held"
        outgoing = self.pipeline.process(proto.to_incoming(message), TEXT, max_bytes=None)
        reply = self._reply(message, key, outgoing) if outgoing.text else None
        transfer = reply.meta.get("kf_trans") if reply is not None else None
        with self.redis.pipeline(transaction=True) as pipe:
            self.state.open_window(pipe, key, sent_at)
            if state == ENDED or transfer:
                # the customer wrote again after an end: a new session; a transfer is queued: not twice
                self.state.set_session(pipe, key, NEW if state == ENDED else state,
                                       transferred_for=transfer["for"] if transfer else None)
            self._keep_media(pipe, key, message)
            if reply is not None:
                outbox_add(pipe, reply)
            pipe.set(done, 1, ex=DONE_TTL)
            pipe.execute()
        return "answered" if outgoing.text else "silent"

    def _reply(self, message: proto.KfMessage, key: str, outgoing: Outgoing) -> OutboxMessage:
        meta: dict[str, Any] = {"transport": proto.TRANSPORT, "chat_id": message.open_kfid, "user_key": key,
                                "reply_to": message.msgid, "kind": "reply"}
        text = outgoing.text
        transfer = self._transfer_due(key)
        if transfer is not None:
            progress = self.services.store.load(key)
            lang = progress.lang if progress else outgoing.lang
            text = self.services.renderer.render(Reply("kf_handoff", {"servicer": self.servicer}), lang, TEXT)
            meta["kf_trans"] = transfer
        else:
            meta.update(_buttons(outgoing))
        suffix = f"-t{self.clock():.6f}" if outgoing.transient else ""  # an apology is no answer: its own id
        digest = hashlib.sha1(f"{message.open_kfid}|{message.msgid}".encode()).hexdigest()[:24]
        return OutboxMessage(KF, proto.fit(text, self.reply_max_bytes), to_user=message.external_userid, fmt=TEXT,
                             id=f"kf-{digest}{suffix}", meta=meta)

    def _transfer_due(self, key: str) -> dict[str, Any] | None:
        """A hand-off the handlers just opened and WeCom does not know of yet: move the session."""
        progress = self.services.store.load(key)
        if progress is None or not handoff_state.is_active(progress, self.clock(), self.services.handoff_timeout):
            return None
        since = progress.handoff.get("since")
        if self.state.session(key).get("transferred_for") == since:
            return None
        return {"state": HUMAN if self.servicer else POOL, "servicer": self.servicer, "for": since}

    def _keep_media(self, pipe: Any, key: str, message: proto.KfMessage) -> None:
        """What the customer sent as media stays reachable (another issue reads screenshots)."""
        if not message.media_id:
            return
        entry = json.dumps({"msgid": message.msgid, "msgtype": message.msgtype, "media_id": message.media_id,
                            "at": message.send_time or self.clock()})
        media = kf_media_key(key)
        pipe.lpush(media, entry)
        pipe.ltrim(media, 0, MEDIA_KEPT - 1)
        pipe.expire(media, MEDIA_TTL)

    def _receptionist(self, message: proto.KfMessage, done: str) -> str:
        key = proto.user_key(message.open_kfid, message.external_userid)
        self._record(key, done, message.send_time or self.clock(), message, by="receptionist")
        return "recorded"

    def _record(self, key: str, done: str, at: float, message: proto.KfMessage, *, held: bool = False,
                by: str | None = None, note: str = "") -> None:
        """Into the conversation staff read: the customer's words (redacted) or a receptionist's."""
        text, _secret = redact_secrets(message.text or note or f"[{message.msgtype}]")
        if by == "receptionist":
            record = conversation.entry(at=at, text="", reply=text, template="kf_receptionist", reading=None,
                                        chat_type="single", by=f"receptionist {message.servicer or ''}".strip())
        else:
            record = conversation.entry(at=at, text=text, reply="", template="kf_held" if held else "kf_note",
                                        reading={"held": True} if held else None, chat_type="single", held=held,
                                        by=by)
        with self.redis.pipeline(transaction=True) as pipe:
            if held:
                self.state.open_window(pipe, key, at)
                self._keep_media(pipe, key, message)
            conversation.add(pipe, key, record)
            pipe.set(done, 1, ex=DONE_TTL)
            pipe.execute()

    # -- events ------------------------------------------------------------------------------------------------
    def _event(self, message: proto.KfMessage, done: str) -> str:
        kind = message.event_type
        key = proto.user_key(message.open_kfid, message.external_userid)
        if kind == "enter_session":
            return self._welcome(message, key, done)
        if kind == "session_status_change":
            return self._status_change(message, key, done)
        if kind == "msg_send_fail":
            return self._send_failed(message, done)
        if kind == "user_recall_msg":
            self._record(key, done, message.send_time or self.clock(), message, by="recall",
                         note=f"（撤回了一条消息 {message.event.get('recall_msgid', '')}）")
            return "recorded"
        self._finish(done)
        return "ignored"

    def _welcome(self, message: proto.KfMessage, key: str, done: str) -> str:
        code = message.event.get("welcome_code")
        if not isinstance(code, str) or not code or not self.state.may_welcome(key, message.msgid):
            self._finish(done)
            return "no welcome"
        outgoing = self.pipeline.process(proto.to_incoming(message, welcome=True), TEXT, max_bytes=None)
        with self.redis.pipeline(transaction=True) as pipe:
            if outgoing.text:
                digest = hashlib.sha1(f"{message.open_kfid}|{message.msgid}".encode()).hexdigest()[:24]
                sent = message.send_time or self.clock()
                outbox_add(pipe, OutboxMessage(
                    KF, proto.fit(outgoing.text, self.reply_max_bytes), to_user=message.external_userid, fmt=TEXT,
                    id=f"kfw-{digest}", meta={"transport": proto.TRANSPORT, "chat_id": message.open_kfid,
                                              "user_key": key, "kind": "welcome", "kf_code": code,
                                              "code_expires": sent + WELCOME_CODE_SECONDS,
                                              **_buttons(outgoing)}))
            pipe.set(done, 1, ex=DONE_TTL)
            pipe.execute()
        return "welcomed"

    def _status_change(self, message: proto.KfMessage, key: str, done: str) -> str:
        change = message.event.get("change_type")
        state = _CHANGE_TO_STATE.get(change) if isinstance(change, int) else None
        if state is None:
            self._finish(done)
            return "ignored"
        servicer = message.event.get("new_servicer_userid")
        with self.redis.pipeline(transaction=True) as pipe:
            self.state.set_session(pipe, key, state, servicer=servicer if isinstance(servicer, str) else None)
            pipe.execute()
        if state == ENDED:
            self._resume(key)
        self._finish(done)
        return f"state {state}"

    def _resume(self, key: str) -> None:
        """The person is done: the bot answers again, from where the customer is (nothing is repeated)."""
        desk = HandoffDesk(self.services.store, self.services.guide, self.clock, self.services.handoff_timeout)
        try:
            desk.resolve(key, "微信客服")
        except NotInQueue:
            pass
        except UserBusy:
            log.warning("kf: could not close the hand-off of %s (busy); it times out by itself", key)

    def _send_failed(self, message: proto.KfMessage, done: str) -> str:
        """WeCom could not deliver a message it had taken: the outbox entry becomes a dead letter."""
        failed = message.event.get("fail_msgid")
        raw = optional_str(self.redis.get(kf_sent_key(str(failed)))) if failed else None
        with self.redis.pipeline(transaction=True) as pipe:
            if raw:
                sent = OutboxMessage.from_json(raw)
                sent.meta.update(error=f"微信客服 msg_send_fail (fail_type {message.event.get('fail_type')})",
                                 failed_at=self.clock())
                pipe.lpush(DEAD_LETTERS, sent.to_json())
            pipe.set(done, 1, ex=DONE_TTL)
            pipe.execute()
        return "send failed" if raw else "ignored"

    def _finish(self, done: str) -> None:
        self.redis.set(done, 1, ex=DONE_TTL)


def _buttons(outgoing: Outgoing) -> dict[str, Any]:
    """The reply's buttons, for a msgmenu (``bot.channels.kf.outbound``)."""
    if not outgoing.buttons:
        return {}
    return {"buttons": [{"key": b.key, "label": b.label} for b in outgoing.buttons]}
