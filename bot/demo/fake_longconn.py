"""A local fake of WeCom's AI-bot long-connection endpoint, on loopback: for tests, the bench and the demo.

It speaks the frames of path/101463 to the bot (``/``): ``aibot_subscribe`` checked against one
Bot ID/Secret, acks for every frame, ``aibot_msg_callback`` / ``aibot_event_callback`` pushes, one
connection per bot (a new subscription kicks the old with ``disconnected_event``), and redelivery of
unanswered messages after a reconnect. Faults on demand: refused or throttled (45009) subscribes,
unacknowledged pings, failing pushes, a cut link, a clean close, a kick.

For the demo it also plays the WeCom client (``/user?userid=U[&chatid=G]``): each text frame a person
sends becomes a message to the bot, and everything the bot says to that person — replies, and pushes
to their private chat or their group — comes back as ``{"type": "reply"|"push"|"welcome", "text"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bot.channels.longconn import protocol as wire

AUTH_FAILED = 40058  # the fake's answer to a wrong Bot ID/Secret (any non-zero but 45009/-1 is a refusal)
BAD_REQ_ID = 40008


@dataclass
class Delivery:
    msgid: str
    cmd: str
    body: dict[str, Any]
    user: str
    chat_id: str | None
    expects_answer: bool
    answers: list[dict[str, Any]] = field(default_factory=list)
    sent_at: float | None = None  # monotonic: the last push of this message to the bot
    answered_at: list[float] = field(default_factory=list)  # monotonic, one per answer


class FakeLongConn:
    def __init__(self, bot_id: str, secret: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.bot_id = bot_id
        self.secret = secret
        self.host = host
        self.port = port
        # faults, set by tests (plain attributes: read on the server's loop)
        self.subscribe_errors: list[int] = []  # errcodes for the next subscribes, in order
        self.ack_pings = True
        self.push_errors: list[int] = []  # errcodes for the next aibot_send_msg
        # what happened
        self.subscribe_attempts: list[float] = []  # monotonic times
        self.subscribes = 0  # successful
        self.subscribed_at: list[float] = []  # monotonic, per successful subscribe
        self.frames: list[dict[str, Any]] = []  # every frame the bot sent
        self.pushes: list[dict[str, Any]] = []  # aibot_send_msg bodies acked with 0
        self.push_times: list[float] = []  # wall-clock time of each acked push
        self.deliveries: dict[str, Delivery] = {}
        self.on_push: Callable[[dict[str, Any]], None] | None = None
        self._req_to_msgid: dict[str, str] = {}
        self._current: ServerConnection | None = None
        self._users: dict[ServerConnection, tuple[str, str | None]] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self) -> FakeLongConn:
        """Serve on a thread; raises OSError when the port cannot be bound (e.g. already in use)."""
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="fake-longconn", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake long-connection server did not start")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except OSError as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        async with serve(self._handler, self.host, self.port, ping_interval=None,
                         max_size=wire.MAX_FRAME_BYTES) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopped.wait()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _call(self, coro_fn, *args):
        """Run ``coro_fn(*args)`` on the server's loop and wait for it (thread-safe entry point)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self._loop).result(timeout=10)

    # -- what tests (and the demo's people) do ------------------------------------------------------------
    def send_text(self, user: str, text: str, chat_id: str | None = None, msgid: str | None = None,
                  bot_name: str = "助手") -> str:
        msgid = msgid or f"fake-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        body: dict[str, Any] = {"msgid": msgid, "aibotid": self.bot_id, "chattype": "group" if chat_id else "single",
                                "from": {"userid": user}, "msgtype": "text",
                                "text": {"content": f"@{bot_name} {text}" if chat_id else text}}
        if chat_id:
            body["chatid"] = chat_id
        self._call(self._deliver, Delivery(msgid, wire.MSG_CALLBACK, body, user, chat_id, True))
        return msgid

    def send_event(self, user: str, eventtype: str, chat_id: str | None = None, expects_answer: bool = True,
                   msgid: str | None = None, **fields: Any) -> str:
        msgid = msgid or f"fake-ev-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        body: dict[str, Any] = {"msgid": msgid, "aibotid": self.bot_id, "chattype": "group" if chat_id else "single",
                                "from": {"userid": user}, "msgtype": "event", "create_time": int(time.time()),
                                "event": {"eventtype": eventtype, eventtype: fields}}
        if chat_id:
            body["chatid"] = chat_id
        self._call(self._deliver, Delivery(msgid, wire.EVENT_CALLBACK, body, user, chat_id, expects_answer))
        return msgid

    def send_raw(self, raw: str) -> None:
        """Any text frame, as is (malformed-input tests)."""
        self._call(self._raw, raw)

    def cut(self) -> float:
        """The link dies without a close frame (network loss); returns when (monotonic)."""
        self._call(self._cut)
        return time.monotonic()

    def close(self, code: int = 1000) -> None:
        """WeCom closes the connection cleanly."""
        self._call(self._close, code)

    def kick(self) -> None:
        """What a second connection of the same bot does to the first."""
        self._call(self._kick, self._current)

    def answers(self, msgid: str) -> list[dict[str, Any]]:
        delivery = self.deliveries.get(msgid)
        return list(delivery.answers) if delivery else []

    def answer_text(self, msgid: str) -> str:
        return _text_of(self.answers(msgid)[-1]) if self.answers(msgid) else ""

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()

    @property
    def connected(self) -> bool:
        return self._current is not None

    # -- the server's loop ----------------------------------------------------------------------------------
    async def _deliver(self, delivery: Delivery) -> None:
        self.deliveries[delivery.msgid] = delivery
        if self._current is not None:
            await self._push_to_bot(self._current, delivery)

    async def _push_to_bot(self, ws: ServerConnection, delivery: Delivery) -> None:
        req_id = wire.new_req_id(delivery.cmd)
        self._req_to_msgid[req_id] = delivery.msgid
        delivery.sent_at = time.monotonic()
        with contextlib.suppress(ConnectionClosed):
            await ws.send(wire.frame(delivery.cmd, req_id, delivery.body))

    async def _raw(self, raw: str) -> None:
        if self._current is not None:
            with contextlib.suppress(ConnectionClosed):
                await self._current.send(raw)

    async def _cut(self) -> None:
        if self._current is not None:
            self._current.transport.abort()
            self._current = None

    async def _close(self, code: int) -> None:
        if self._current is not None:
            ws, self._current = self._current, None
            await ws.close(code, "closed by fake WeCom")

    async def _kick(self, ws: ServerConnection | None) -> None:
        if ws is None:
            return
        event = {"msgid": f"fake-kick-{uuid.uuid4().hex[:8]}", "aibotid": self.bot_id, "msgtype": "event",
                 "create_time": int(time.time()), "event": {"eventtype": wire.DISCONNECTED, wire.DISCONNECTED: {}}}
        with contextlib.suppress(ConnectionClosed):
            await ws.send(wire.frame(wire.EVENT_CALLBACK, wire.new_req_id(wire.EVENT_CALLBACK), event))
            await ws.close(1000, "replaced by a new connection")
        if self._current is ws:
            self._current = None

    async def _handler(self, ws: ServerConnection) -> None:
        path = urlparse(ws.request.path if ws.request else "/")
        if path.path.rstrip("/") == "/user":
            await self._person(ws, parse_qs(path.query))
            return
        try:
            async for raw in ws:
                await self._from_bot(ws, raw)
        except ConnectionClosed:
            pass
        finally:
            if self._current is ws:
                self._current = None

    async def _from_bot(self, ws: ServerConnection, raw: str | bytes) -> None:
        try:
            doc = wire.parse(raw)
        except Exception:
            return
        with self._lock:
            self.frames.append(doc)
        cmd, req_id = doc.get("cmd"), wire.req_id_of(doc)
        raw_body = doc.get("body")
        body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
        if cmd == wire.SUBSCRIBE:
            await self._subscribe(ws, req_id, body)
            return
        if ws is not self._current:
            await ws.send(wire.ack(req_id, BAD_REQ_ID, "not subscribed"))
            return
        if cmd == wire.PING:
            if self.ack_pings:
                await ws.send(wire.ack(req_id))
            return
        if cmd == wire.SEND:
            errcode = self.push_errors.pop(0) if self.push_errors else 0
            if not errcode:  # recorded before the ack: a test that reads ``pushes`` once acked must see it
                with self._lock:
                    self.pushes.append(body)
                    self.push_times.append(time.time())
            await ws.send(wire.ack(req_id, errcode, "ok" if not errcode else "fake failure"))
            if not errcode:
                await self._to_people("push", body.get("chatid"), _text_of(body))
                if self.on_push:
                    self.on_push(body)
            return
        if cmd in (wire.RESPOND, wire.RESPOND_WELCOME, wire.RESPOND_UPDATE):
            msgid = self._req_to_msgid.pop(req_id, None)
            if msgid is None:
                await ws.send(wire.ack(req_id, BAD_REQ_ID, "unknown or expired req_id"))
                return
            delivery = self.deliveries[msgid]
            delivery.answered_at.append(time.monotonic())
            delivery.answers.append(doc)
            await ws.send(wire.ack(req_id))
            kind = "welcome" if cmd == wire.RESPOND_WELCOME else "reply"
            await self._to_people(kind, delivery.user, _text_of(body), only_user=True)
            return
        await ws.send(wire.ack(req_id, BAD_REQ_ID, f"unknown cmd {cmd}"))

    async def _subscribe(self, ws: ServerConnection, req_id: str, body: dict[str, Any]) -> None:
        self.subscribe_attempts.append(time.monotonic())
        if self.subscribe_errors:
            code = self.subscribe_errors.pop(0)
            await ws.send(wire.ack(req_id, code, "fake refusal"))
            return
        if body.get("bot_id") != self.bot_id or body.get("secret") != self.secret:
            await ws.send(wire.ack(req_id, AUTH_FAILED, "invalid bot_id or secret"))
            return
        previous, self._current = self._current, ws
        self._req_to_msgid.clear()  # req_ids belong to the connection they were sent on
        self.subscribes += 1
        self.subscribed_at.append(time.monotonic())
        await ws.send(wire.ack(req_id))
        if previous is not None and previous is not ws:
            await self._kick(previous)
        for delivery in list(self.deliveries.values()):
            if delivery.expects_answer and not delivery.answers and delivery.cmd == wire.MSG_CALLBACK:
                await self._push_to_bot(ws, delivery)  # WeCom redelivers after a reconnect

    # -- the demo's people ------------------------------------------------------------------------------------
    async def _person(self, ws: ServerConnection, query: dict[str, list[str]]) -> None:
        user = (query.get("userid") or ["demo-user"])[0]
        chat_ids = query.get("chatid")
        chat_id = chat_ids[0] if chat_ids else None
        self._users[ws] = (user, chat_id)
        try:
            if not chat_id:
                await self._deliver(self._event(user, "enter_chat"))
            async for raw in ws:
                try:
                    text = str(json.loads(raw).get("text", ""))
                except (ValueError, AttributeError):
                    continue
                if text.strip():
                    await self._deliver(self._text(user, text, chat_id))
        except ConnectionClosed:
            pass
        finally:
            self._users.pop(ws, None)

    def _text(self, user: str, text: str, chat_id: str | None) -> Delivery:
        msgid = f"fake-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        body: dict[str, Any] = {"msgid": msgid, "aibotid": self.bot_id, "chattype": "group" if chat_id else "single",
                                "from": {"userid": user}, "msgtype": "text",
                                "text": {"content": f"@助手 {text}" if chat_id else text}}
        if chat_id:
            body["chatid"] = chat_id
        return Delivery(msgid, wire.MSG_CALLBACK, body, user, chat_id, True)

    def _event(self, user: str, eventtype: str) -> Delivery:
        msgid = f"fake-ev-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        body = {"msgid": msgid, "aibotid": self.bot_id, "chattype": "single", "from": {"userid": user},
                "msgtype": "event", "create_time": int(time.time()), "event": {"eventtype": eventtype}}
        return Delivery(msgid, wire.EVENT_CALLBACK, body, user, None, True)

    async def _to_people(self, kind: str, chat_or_user: str | None, text: str, only_user: bool = False) -> None:
        for person, (user, chat_id) in list(self._users.items()):
            if chat_or_user == user or (not only_user and chat_id and chat_or_user == chat_id):
                with contextlib.suppress(ConnectionClosed):
                    await person.send(json.dumps({"type": kind, "text": text}, ensure_ascii=False))


def _text_of(body_or_frame: dict[str, Any]) -> str:
    """The visible text of a reply or push body (stream content, markdown, text)."""
    body = body_or_frame.get("body", body_or_frame) if "cmd" in body_or_frame else body_or_frame
    for key in ("stream", "markdown", "text"):
        part = body.get(key)
        if isinstance(part, dict) and isinstance(part.get("content"), str):
            return part["content"]
    card = body.get("template_card")
    if isinstance(card, dict):
        return " | ".join(b.get("text", "") for b in card.get("button_list", []))
    return ""
