"""The long connection as a channel: callback frames in, replies on the connection, relayed sends out.

Inbound frames carry the AI-bot callback's JSON (``bot.channels.aibot.protocol`` reads them) and go
through the same ``Pipeline.process`` as every channel; which reply fits which frame mirrors the
HTTP callback (``bot.channels.aibot.callback``), with the callback's ``req_id`` instead of a nonce:
- a message: ``aibot_respond_msg`` with a finished stream (with a button card when it has buttons);
- enter_chat: ``aibot_respond_welcome_msg`` with text;
- a card click: ``aibot_respond_update_msg`` with the new card, and the answer itself queued in the
  outbox (id derived from the click, so a redelivered click cannot send it twice);
- feedback: recorded by the pipeline, nothing sent.
Redelivered messages (WeCom resends after a reconnect) get the pipeline's cached reply: answered
again on the new connection, with no second side effect.

The pipeline is synchronous (Redis): it runs on a thread pool so one slow user never stalls the
connection's reader or its heartbeat.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import redis

from bot.channels.aibot import protocol as proto
from bot.channels.aibot.callback import CARD_TITLE_TEMPLATE
from bot.channels.longconn import protocol as wire
from bot.channels.longconn import relay
from bot.channels.longconn.client import AckTimeout, LongConnClient, NotConnected
from bot.channels.longconn.outbound import TRANSPORT
from bot.channels.wecom import wire_text
from bot.channels.wecom.envelope import CallbackRejected
from bot.core.messages import Incoming, Outgoing, Reply
from bot.core.pipeline import Pipeline
from bot.core.render import MARKDOWN, TEXT
from bot.outbound.entry import APP, OutboxMessage
from bot.outbound.queue import add as outbox_add

log = logging.getLogger(__name__)


class LongConnChannel:
    def __init__(self, pipeline: Pipeline, corp_id: str, bot_id: str, *, bot_names: tuple[str, ...] = (),
                 threads: int = 8) -> None:
        self.pipeline = pipeline
        self.corp_id = corp_id
        self.bot_id = bot_id
        self.bot_names = bot_names
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="longconn")
        self.client: LongConnClient | None = None  # set by the holder once the client exists
        self._queues: dict[str, tuple[asyncio.Lock, int]] = {}  # per user: a lock and how many wait on it

    @property
    def redis(self) -> redis.Redis:
        return self.pipeline.services.store.redis

    async def _run(self, func, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    # -- inbound --------------------------------------------------------------------------------------
    async def on_frame(self, doc: dict[str, Any]) -> None:
        """One callback frame. A user's messages are answered in the order they came (the link is
        ordered, and "开始" then "进度" must not be read the other way round); users run in parallel."""
        req_id = wire.req_id_of(doc)
        if not isinstance(req_id, str) or not req_id.isprintable():
            log.warning("long connection: frame dropped: its req_id is not printable text")
            return
        try:
            incoming = replace(proto.to_incoming(wire.body_of(doc), self.corp_id, self.bot_names), transport=TRANSPORT)
            incoming = wire_text.normalise(incoming)
        except CallbackRejected as exc:
            log.warning("long connection: frame %s rejected: %s", req_id, exc.reason)
            return
        key = incoming.user_key
        lock, waiting = self._queues.get(key) or (asyncio.Lock(), 0)
        self._queues[key] = (lock, waiting + 1)
        try:
            async with lock:
                await self._answer(incoming, req_id)
        finally:
            lock, waiting = self._queues[key]
            if waiting <= 1:
                del self._queues[key]
            else:
                self._queues[key] = (lock, waiting - 1)

    async def _answer(self, incoming: Incoming, req_id: str) -> None:
        if incoming.kind == "event" and incoming.event == "welcome":
            outgoing = await self._run(self.pipeline.process, incoming, TEXT, max_bytes=proto.TEXT_MAX_BYTES)
            if outgoing.text:
                await self._respond(wire.RESPOND_WELCOME, req_id, proto.text_message(outgoing.text))
            return
        outgoing = await self._run(self.pipeline.process, incoming, MARKDOWN,
                                   max_bytes=proto.STREAM_MAX_BYTES - proto.MENTION_RESERVE)
        if incoming.kind == "event" and incoming.event == "feedback":
            return
        if incoming.kind == "event" and incoming.event == "card_click":
            await self._answer_click(incoming, outgoing, req_id)
            return
        if not outgoing.text:
            return
        stream_id, task_id = proto.reply_ids(incoming)
        content = proto.stream_content(outgoing.text, outgoing.mention)
        if outgoing.buttons:
            reply = proto.stream_with_card(stream_id, content, await self._run(self._card, task_id, outgoing))
        else:
            reply = proto.stream_message(stream_id, content, feedback_id=stream_id)
        await self._respond(wire.RESPOND, req_id, reply)

    async def _answer_click(self, incoming: Incoming, outgoing: Outgoing, req_id: str) -> None:
        if outgoing.text:
            await self._run(self._queue_click_answer, incoming, proto.stream_content(outgoing.text, outgoing.mention),
                            outgoing.transient)
        task_id = incoming.extra.get("task_id")
        if outgoing.buttons and task_id:
            card = await self._run(self._card, task_id, outgoing)
            await self._respond(wire.RESPOND_UPDATE, req_id, proto.card_update(card, incoming.user_id))

    async def _respond(self, cmd: str, req_id: str, body: dict[str, Any]) -> None:
        """Answer on the connection. If the link went meanwhile the answer is lost with it: WeCom
        redelivers the message after the reconnect and the cached reply goes out then."""
        if self.client is None:
            return
        try:
            result = await self.client.respond(cmd, req_id, body)
        except (NotConnected, AckTimeout) as exc:
            log.warning("long connection: %s for %s not delivered: %s", cmd, req_id, exc)
            return
        if result.errcode:
            log.error("long connection: %s for %s refused: errcode %s %s", cmd, req_id, result.errcode, result.errmsg)

    # -- Redis, on the thread pool ----------------------------------------------------------------------
    def _card(self, task_id: str, outgoing: Outgoing) -> dict[str, Any]:
        title = self.pipeline.services.renderer.render(Reply(CARD_TITLE_TEMPLATE), outgoing.lang, TEXT)
        return proto.button_card(task_id, title, outgoing.buttons)

    def _queue_click_answer(self, incoming: Incoming, content: str, transient: bool) -> None:
        """The answer's id is the click's, so a redelivered click queues nothing new — except after a
        transient reply (busy, slow down): nothing was done then, and a redelivery's real answer must
        not be taken for a duplicate of the apology."""
        digest = hashlib.sha1(f"{incoming.transport}:{incoming.msg_id}".encode()).hexdigest()[:24]
        suffix = f"-transient-{time.time_ns()}" if transient else ""
        message = OutboxMessage(APP, content, to_user=incoming.user_id, fmt=MARKDOWN, id=f"ws-click-{digest}{suffix}",
                                meta={"transport": TRANSPORT, "chat_id": incoming.chat_id, "msg_id": incoming.msg_id,
                                      "user_key": incoming.user_key})
        try:
            outbox_add(self.redis, message)
        except redis.RedisError as exc:
            log.error("could not queue the answer to card click %s: %s", incoming.msg_id, type(exc).__name__)

    # -- outbound: requests relayed by the worker's sender ------------------------------------------------
    async def relay(self, request: relay.RelayRequest) -> None:
        """Send one relayed ``aibot_send_msg`` and put WeCom's ack where the sender waits for it."""
        if request.deadline < time.time():
            log.warning("relay: request %s taken after its deadline: dropped (the sender retries it)", request.id)
            return
        error, errcode, errmsg = None, 0, ""
        if self.client is None or not self.client.connected:
            error = "not connected (reconnecting)"
        else:
            try:
                result = await self.client.send_message(request.body)
                errcode, errmsg = result.errcode, result.errmsg
            except (NotConnected, AckTimeout) as exc:
                error = str(exc)
        await self._run(relay.answer, self.redis, request, errcode=errcode, errmsg=errmsg, error=error)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

