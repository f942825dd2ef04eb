"""The AI bot (智能机器人) callback, free of Flask: verify a URL, answer a message, event or stream refresh.

Which passive reply fits which callback (WeCom path/101031):
- a message: a finished ``stream`` (markdown), or ``stream_with_template_card`` when the reply has
  buttons; the stream content is kept in Redis so a refresh callback, on any web process, gets it;
- enter_chat: plain ``text``;
- a card click: only an ``update_template_card`` is allowed, so the answer itself goes out through
  the click's one-time ``response_url`` (queued in the outbox), and the card gets the new buttons;
  a transient system reply (user busy, Redis down, rate limited) spends nothing: HTTP 503, so WeCom
  retries the callback and the retry gets the real answer;
- feedback: an empty body (WeCom accepts nothing else).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import redis

from bot.channels.aibot import protocol as proto
from bot.channels.wecom import wire_text
from bot.channels.wecom.envelope import CallbackRejected, Envelope, SignedQuery
from bot.config import Settings
from bot.core.keys import OUTBOX_QUEUE, aibot_answered_key, aibot_stream_key
from bot.core.messages import Incoming, Outgoing, Reply
from bot.core.pipeline import Pipeline
from bot.core.render import MARKDOWN, TEXT
from bot.infra.redis_conn import as_str
from bot.outbound.entry import RESPONSE_URL, OutboxMessage

log = logging.getLogger(__name__)

# Queue a card click's answer once: set the "answered" guard and push to the outbox in one step.
_QUEUE_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
STREAM_TTL = 600  # WeCom polls a stream for at most 6 minutes
ANSWERED_TTL = 3600  # a response_url lives one hour
CARD_TITLE_TEMPLATE = "aibot_card_title"


class RetryLater(CallbackRejected):
    """No answer now, and none spent: a non-200 makes WeCom send the callback again (3 attempts in all)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, 503)


class AibotCallback:
    def __init__(self, envelope: Envelope, pipeline: Pipeline, corp_id: str,
                 bot_names: tuple[str, ...] = ()) -> None:
        self.envelope = envelope
        self.pipeline = pipeline
        self.corp_id = corp_id
        self.bot_names = bot_names
        self._queue_once = self.redis.register_script(_QUEUE_ONCE)

    @property
    def redis(self) -> redis.Redis:
        return self.pipeline.services.store.redis

    def verify(self, args: Mapping[str, str]) -> str:
        return self.envelope.verify_url(args)

    def handle(self, args: Mapping[str, str], body: bytes) -> str:
        """Returns the encrypted JSON reply, or "" for no reply (an HTTP 200 with an empty body)."""
        query = SignedQuery.from_args(args)
        encrypted = proto.encrypted_field(body)
        doc = proto.parse_payload(self.envelope.decrypt(query, encrypted))
        stream_id = proto.stream_refresh_id(doc)
        if stream_id is not None:
            reply = self._refresh(wire_text.clean_id(stream_id, "stream.id"))
        else:
            reply = self._answer(wire_text.normalise(proto.to_incoming(doc, self.corp_id, self.bot_names)))
        return proto.seal(self.envelope, reply, query.nonce) if reply else ""

    # -- the replies ----------------------------------------------------------------------------
    def _answer(self, incoming: Incoming) -> dict[str, Any] | None:
        if incoming.kind == "event" and incoming.event == "welcome":
            outgoing = self.pipeline.process(incoming, TEXT, max_bytes=proto.TEXT_MAX_BYTES)
            return proto.text_message(outgoing.text) if outgoing.text else None
        outgoing = self.pipeline.process(incoming, MARKDOWN,
                                         max_bytes=proto.STREAM_MAX_BYTES - proto.MENTION_RESERVE)
        if incoming.kind == "event" and incoming.event == "feedback":
            return None  # recorded by the pipeline; WeCom accepts only an empty reply
        if incoming.kind == "event" and incoming.event == "card_click":
            return self._answer_click(incoming, outgoing)
        if not outgoing.text:
            return None
        stream_id, task_id = proto.reply_ids(incoming)
        content = proto.stream_content(outgoing.text, outgoing.mention)
        self._remember_stream(stream_id, content)
        if not outgoing.buttons:
            return proto.stream_message(stream_id, content, feedback_id=stream_id)
        return proto.stream_with_card(stream_id, content, self._card(task_id, outgoing))

    def _answer_click(self, incoming: Incoming, outgoing: Outgoing) -> dict[str, Any] | None:
        if outgoing.transient:
            # Busy, Redis down, rate limited: nothing was done. Spending the click's one-time
            # response_url on an apology (and setting the answered guard) would drop the retry's real
            # answer; an HTTP 200 would end WeCom's retries. So: no queue, no guard, a 503.
            raise RetryLater(f"card click {incoming.msg_id}: transient reply, WeCom may retry")
        if outgoing.text:
            self._queue_response(incoming, proto.stream_content(outgoing.text, outgoing.mention))
        task_id = incoming.extra.get("task_id")
        if not outgoing.buttons or not task_id:
            return None
        return proto.card_update(self._card(task_id, outgoing), incoming.user_id)

    def _card(self, task_id: str, outgoing: Outgoing) -> dict[str, Any]:
        title = self.pipeline.services.renderer.render(Reply(CARD_TITLE_TEMPLATE), outgoing.lang, TEXT)
        return proto.button_card(task_id, title, outgoing.buttons)

    def _refresh(self, stream_id: str) -> dict[str, Any] | None:
        """WeCom polls a stream we opened: answer with its finished content, from any process."""
        try:
            content = self.redis.get(aibot_stream_key(stream_id))
        except redis.RedisError as exc:
            log.error("redis unavailable for stream refresh %s: %s", stream_id, type(exc).__name__)
            return None
        if content is None:
            log.info("refresh of unknown or expired stream %s: no reply", stream_id)
            return None  # an empty 200; a finished empty stream would blank the shown answer
        return proto.stream_message(stream_id, as_str(content))

    # -- Redis side effects outside the pipeline's commit ---------------------------------------
    def _remember_stream(self, stream_id: str, content: str) -> None:
        try:
            self.redis.set(aibot_stream_key(stream_id), content, ex=STREAM_TTL)
        except redis.RedisError as exc:  # the answer itself is finished; only a refresh would miss it
            log.error("could not store stream %s: %s", stream_id, type(exc).__name__)

    def _queue_response(self, incoming: Incoming, content: str) -> None:
        url = incoming.extra.get("response_url")
        if not url:
            log.warning("card click %s without response_url: answer dropped", incoming.msg_id)
            return
        message = OutboxMessage(RESPONSE_URL, content, to_user=incoming.user_id, fmt=MARKDOWN, url=url,
                                meta={"transport": incoming.transport, "msg_id": incoming.msg_id,
                                      "chat_id": incoming.chat_id,
                                      "url_expires": self.pipeline.services.clock() + ANSWERED_TTL})
        try:  # the guard and the queued answer together, or neither
            self._queue_once(keys=[aibot_answered_key(incoming.msg_id), OUTBOX_QUEUE],
                             args=[ANSWERED_TTL, message.to_json()])
        except redis.RedisError as exc:
            # The reply is cached: WeCom's retry finds it and queues the answer then.
            raise RetryLater(f"could not queue the answer to card click {incoming.msg_id}: "
                             f"{type(exc).__name__}") from exc


def build_aibot_callback(settings: Settings, pipeline: Pipeline,
                         clock: Callable[[], float]) -> AibotCallback | None:
    """The AI bot callback, or None when its token and key are not configured (the view says so)."""
    if not settings.aibot.token:
        return None
    envelope = Envelope(settings.aibot, max_age=settings.callback_max_age, clock=clock)
    return AibotCallback(envelope, pipeline, settings.corp_id, bot_names=settings.aibot_names)
