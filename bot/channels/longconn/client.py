"""A thin asyncio client for the AI bot's long connection, on the ``websockets`` library.

Why not the official ``wecom-aibot-python-sdk`` (1.0.2, read for this): its receive loop ends quietly
when WeCom closes the connection cleanly (code 1000) and never reconnects; it always passes an SSL
context, so ``ws://`` (local fakes, tests) is refused; a wrong Bot ID/Secret is only logged (no error
a process could exit on); after 10 attempts it stops reconnecting without telling anyone; and it
does not tell a kick (``disconnected_event``) from a cut link. Each of those is the whole job here.

What this client does, and nothing more: connect, subscribe, ping every ``ping_interval``, match
acks to requests by ``req_id`` (a missing ack counts as a missed beat: ``max_missed_acks`` in a row
close the link), reconnect with exponential backoff and jitter, and hand every callback frame to
``on_frame``. It raises ``AuthFailed`` (the credentials are wrong: retrying cannot help) and
``Kicked`` (another connection of the same bot took over); everything else is retried by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from bot.channels.longconn import protocol as wire
from bot.channels.wecom.envelope import CallbackRejected
from bot.config import LongConnSettings

log = logging.getLogger(__name__)


class AuthFailed(Exception):
    """WeCom refused the subscription: wrong Bot ID or Secret, or the bot is not in long-connection mode."""


class Kicked(Exception):
    """WeCom sent ``disconnected_event``: a newer connection of this bot replaced ours."""


class NotConnected(Exception):
    """No subscribed connection right now (reconnecting): the caller may retry later."""


class AckTimeout(Exception):
    """The frame went out but WeCom did not acknowledge it in time: it may or may not have arrived."""


@dataclass
class Ack:
    errcode: int
    errmsg: str


FrameHandler = Callable[[dict[str, Any]], Awaitable[None]]


class LongConnClient:
    def __init__(self, config: LongConnSettings, on_frame: FrameHandler, *,
                 on_connected: Callable[[], None] | None = None) -> None:
        self.config = config
        self.on_frame = on_frame
        self.on_connected = on_connected
        self._ws: ClientConnection | None = None
        self._subscribed = asyncio.Event()
        self._pending: dict[str, asyncio.Future[Ack]] = {}
        self._missed = 0
        self._kicked = False
        self._tasks: set[asyncio.Task] = set()
        self.attempt = 0
        self.connects = 0  # successful subscriptions (the first one and every reconnect)
        self.disconnected_at: float | None = None  # monotonic, when the last link was lost

    @property
    def connected(self) -> bool:
        return self._subscribed.is_set()

    # -- the one loop ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Hold the connection until ``stop``; raises AuthFailed or Kicked, which end the holding."""
        while not stop.is_set():
            throttled = False
            try:
                await self._session(stop)
            except (AuthFailed, Kicked):
                raise
            except _Throttled:
                throttled = True
            except (TimeoutError, OSError, websockets.WebSocketException, NotConnected) as exc:
                log.warning("long connection: %s: %s", type(exc).__name__, exc)
            finally:
                self._lost()
            if self._kicked:
                raise Kicked("WeCom sent disconnected_event: another connection of this bot took over")
            if stop.is_set():
                break
            delay = self._next_delay(throttled)
            log.warning("long connection lost; reconnecting in %.2f s (attempt %d)", delay, self.attempt)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    def _next_delay(self, throttled: bool) -> float:
        """Exponential backoff with jitter (so a fleet does not reconnect in step); after 45009, a long wait."""
        cfg = self.config
        self.attempt += 1
        delay = min(cfg.backoff_base * 2 ** (self.attempt - 1), cfg.backoff_max)
        delay *= random.uniform(0.5, 1.0)
        return max(delay, cfg.throttled_wait * random.uniform(1.0, 1.2)) if throttled else delay

    async def _session(self, stop: asyncio.Event) -> None:
        cfg = self.config
        async with connect(cfg.url, open_timeout=cfg.ack_timeout * 2, ping_interval=None, close_timeout=1.0,
                           max_size=wire.MAX_FRAME_BYTES) as ws:
            self._ws = ws
            self._missed = 0
            reader = asyncio.create_task(self._read(ws))
            try:
                await self._subscribe()
                self.attempt = 0
                self.connects += 1
                log.info("long connection subscribed (bot %s, %s)", cfg.bot_id, cfg.url)
                if self.on_connected:
                    self.on_connected()
                pinger = asyncio.create_task(self._ping(ws))
                stopper = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait({reader, pinger, stopper}, return_when=asyncio.FIRST_COMPLETED)
                for task in (pinger, stopper):
                    task.cancel()
                if stopper in done:
                    await ws.close(1000, "stopping")
                failure = pinger.exception() if pinger in done and not pinger.cancelled() else None
                if failure is not None:
                    raise failure
            finally:
                if not reader.done():
                    reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader

    async def _subscribe(self) -> None:
        req_id = wire.new_req_id(wire.SUBSCRIBE)
        body = {"bot_id": self.config.bot_id, "secret": self.config.secret}
        try:
            result = await self._request(wire.SUBSCRIBE, body, req_id, subscribed=False)
        except AckTimeout as exc:
            raise OSError("no answer to aibot_subscribe") from exc
        if result.errcode == 0:
            self._subscribed.set()
            return
        if result.errcode == wire.THROTTLED:
            log.error("aibot_subscribe answered 45009 (too many connects): waiting %.0f s before trying again",
                      self.config.throttled_wait)
            raise _Throttled()
        if result.errcode == wire.BUSY:
            raise OSError(f"aibot_subscribe: WeCom busy ({result.errmsg})")
        raise AuthFailed(f"aibot_subscribe refused: errcode {result.errcode} {result.errmsg}".strip())

    async def _read(self, ws: ClientConnection) -> None:
        """Every frame: acks resolve their request; callbacks go to ``on_frame`` as their own task.

        The loop ends when the connection closes, cleanly (1000) or not: either way ``_session`` returns
        and ``run`` reconnects — a clean close from WeCom is not a reason to stay dead.
        """
        try:
            async for raw in ws:
                self._on_raw(raw)
        finally:
            self._subscribed.clear()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(NotConnected("connection closed before the ack"))
            self._pending.clear()

    def _on_raw(self, raw: str | bytes) -> None:
        try:
            doc = wire.parse(raw)
        except CallbackRejected as exc:
            log.warning("long connection: dropped a frame: %s", exc.reason)
            return
        cmd = doc.get("cmd")
        if not cmd:
            future = self._pending.pop(wire.req_id_of(doc), None)
            if future is not None and not future.done():
                future.set_result(Ack(wire.errcode_of(doc), str(doc.get("errmsg", ""))))
            self._missed = 0  # the link carries acks: it is alive
            return
        body = doc.get("body")
        if cmd == wire.EVENT_CALLBACK and wire.event_type(body if isinstance(body, dict) else {}) == wire.DISCONNECTED:
            self._kicked = True
            log.error("long connection: disconnected_event received: another connection took over")
            return
        if cmd in (wire.MSG_CALLBACK, wire.EVENT_CALLBACK):
            task = asyncio.create_task(self._dispatch(doc))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            log.warning("long connection: unknown cmd %r ignored", str(cmd)[:40])

    async def _dispatch(self, doc: dict[str, Any]) -> None:
        try:
            await self.on_frame(doc)
        except Exception:  # one bad message must not take the connection down
            log.exception("long connection: handling %s %s failed", doc.get("cmd"), wire.req_id_of(doc))

    async def _ping(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval)
            if self._missed >= self.config.max_missed_acks:
                log.error("long connection: %d acks missed in a row: the link is dead, reconnecting", self._missed)
                ws.transport.abort()  # a dead link cannot carry a close handshake
                return
            with contextlib.suppress(AckTimeout, NotConnected):
                await self._request(wire.PING, None, wire.new_req_id(wire.PING),
                                    timeout=min(self.config.ack_timeout, self.config.ping_interval))

    def _lost(self) -> None:
        if self._subscribed.is_set() or self._ws is not None:
            self.disconnected_at = time.monotonic()
        self._subscribed.clear()
        self._ws = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NotConnected("connection lost before the ack"))
        self._pending.clear()

    # -- sending -------------------------------------------------------------------------------------
    async def _request(self, cmd: str, body: dict[str, Any] | None, req_id: str, *, subscribed: bool = True,
                       timeout: float | None = None) -> Ack:
        ws = self._ws
        if ws is None or (subscribed and not self._subscribed.is_set()):
            raise NotConnected("long connection is not subscribed")
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            await ws.send(wire.frame(cmd, req_id, body))
        except websockets.WebSocketException as exc:
            self._pending.pop(req_id, None)
            raise NotConnected(f"send failed: {type(exc).__name__}") from exc
        try:
            return await asyncio.wait_for(future, timeout or self.config.ack_timeout)
        except TimeoutError as exc:
            self._pending.pop(req_id, None)
            self._missed += 1
            raise AckTimeout(f"{cmd} {req_id}: no ack within {timeout or self.config.ack_timeout:.1f} s") from exc

    async def respond(self, cmd: str, req_id: str, body: dict[str, Any]) -> Ack:
        """Answer a callback on the connection, under the callback's own req_id."""
        return await self._request(cmd, body, req_id)

    async def send_message(self, body: dict[str, Any]) -> Ack:
        """``aibot_send_msg``: a message on the bot's own initiative (own req_id)."""
        return await self._request(wire.SEND, body, wire.new_req_id(wire.SEND))


class _Throttled(Exception):
    """45009 on subscribe: wait ``throttled_wait`` before the next attempt."""
