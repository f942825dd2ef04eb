"""``python -m bot connect``: hold the AI bot's long connection — one holder per bot, elected in Redis.

WeCom allows one connection per bot: a new one kicks the old. So holders (one per host, say) take a
Redis lock with a TTL (``bot.worker.leader``, the worker's election, under a key of the bot's own); only the
holder connects, a standby takes over within about WS_LEADER_TTL seconds of the holder's death.
The holder also serves the sender's relayed ``aibot_send_msg`` requests (``bot.channels.longconn.relay``).

Endings, and why:
- a wrong Bot ID/Secret: exit 3 with a clear message; retrying (or a standby trying) cannot help,
  and repeated subscribes earn 45009;
- kicked (``disconnected_event``) while we still hold the lock: someone outside this deployment runs
  the same bot. Fighting would kick each other forever, so the holder says so loudly, blocks every
  holder of this deployment for WS_KICKED_HOLD seconds (a Redis marker), and exits 4;
- kicked after our lock went to a standby (we were partitioned): that is our successor; step down.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
import time

import redis

from bot.channels.longconn import relay
from bot.channels.longconn.client import AuthFailed, Kicked, LongConnClient
from bot.channels.longconn.inbound import LongConnChannel
from bot.cli.process import settings_or_report, stop_on_signals
from bot.cli.progname import program
from bot.config import ConfigError, LongConnSettings, Settings, longconn_settings
from bot.core.keys import longconn_holder_epoch_key, longconn_holder_key, longconn_kicked_key
from bot.core.pipeline import Pipeline
from bot.ocr.answers import start as answer_ocr_text
from bot.wiring.services import build_services, redis_client
from bot.worker.leader import Heartbeat, LeaderLock, worker_identity

log = logging.getLogger(__name__)

EXIT_AUTH = 3
EXIT_KICKED = 4


class Holder:
    def __init__(self, settings: Settings, client: redis.Redis, config: LongConnSettings, *,
                 identity: str | None = None, pipeline: Pipeline | None = None, poll: float = 0.5) -> None:
        self.settings = settings
        self.redis = client
        self.config = config
        self.identity = identity or worker_identity()
        self.lock = LeaderLock(client, self.identity, ttl=config.leader_ttl, key=longconn_holder_key(config.bot_id),
                               epoch_key=longconn_holder_epoch_key(config.bot_id))
        self.pipeline = pipeline or Pipeline(build_services(settings, client))
        self.poll = poll
        self.client: LongConnClient | None = None
        self.holding = threading.Event()
        self._stop = threading.Event()
        self._async_stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def stop(self) -> None:
        self._stop.set()
        loop, event = self._loop, self._async_stop
        if loop is not None and event is not None:
            loop.call_soon_threadsafe(event.set)

    def run(self) -> int:
        log.info("connection holder %s for bot %s started; waiting for the lock", self.identity, self.config.bot_id)
        warned = False
        while not self._stop.is_set():
            try:
                blocked = self.redis.pttl(longconn_kicked_key(self.config.bot_id))
                acquired = blocked <= 0 and self.lock.try_acquire()
            except redis.RedisError as exc:
                log.error("redis unavailable: %s", exc)
                self._stop.wait(self.poll)
                continue
            if blocked > 0 and not warned:
                log.critical("bot %s was taken over by a connection this deployment does not know of; "
                             "not connecting for %.0f s more (delete %s to retry now)", self.config.bot_id,
                             blocked / 1000, longconn_kicked_key(self.config.bot_id))
                warned = True
            if not acquired:
                self._stop.wait(self.poll)
                continue
            warned = False
            try:
                code = asyncio.run(self._hold())
            except Exception:  # a bug or Redis trouble while holding: stand by and try again, never die silently
                log.exception("holder %s failed while holding; standing by", self.identity)
                self._stop.wait(self.poll)
                continue
            if code is not None:
                return code
        log.info("connection holder %s stopped", self.identity)
        return 0

    async def _hold(self) -> int | None:
        """Hold the connection while we hold the lock; an exit code ends the process, None stands by."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        lost = threading.Event()
        self._loop, self._async_stop = loop, stop
        if self._stop.is_set():
            stop.set()

        def on_lost() -> None:
            lost.set()
            loop.call_soon_threadsafe(stop.set)

        channel = LongConnChannel(self.pipeline, self.settings.corp_id, self.config.bot_id,
                                  bot_names=_bot_names(self.settings))
        client = LongConnClient(self.config, channel.on_frame)
        channel.client = self.client = client
        heartbeat = Heartbeat(self.lock, on_lost)
        heartbeat.start()
        relayer = threading.Thread(target=self._relay, args=(channel, loop, stop), name="relay", daemon=True)
        relayer.start()
        self.holding.set()
        log.warning("holder %s holds bot %s (epoch %s)", self.identity, self.config.bot_id, self.lock.epoch)
        code: int | None = None
        try:
            await client.run(stop)
        except AuthFailed as exc:
            log.critical("%s — check WECOM_BOT_ID and WECOM_BOT_SECRET (the AI bot's page, API mode 长连接); "
                         "not retrying", exc)
            code = EXIT_AUTH
        except Kicked:
            holder = _safe(self.lock.holder)
            if lost.is_set() or (holder is not None and holder != self.identity):
                log.warning("kicked by our successor %s: standing by", holder)
            else:
                log.critical("KICKED: another connection for bot %s, not one of this deployment's holders, "
                             "took over. Stopping instead of fighting; holders wait %.0f s.",
                             self.config.bot_id, self.config.kicked_hold)
                _safe(lambda: self.redis.set(longconn_kicked_key(self.config.bot_id), self.identity,
                                             px=max(int(self.config.kicked_hold * 1000), 1)))
                code = EXIT_KICKED
        finally:
            self.holding.clear()
            stop.set()
            heartbeat.stop()
            relayer.join(timeout=3)
            channel.close()
            if not lost.is_set():
                self.lock.release()
            self._loop = self._async_stop = None
        if lost.is_set() and code is None:
            log.error("holder %s lost the lock: standing by", self.identity)
        return code

    def _relay(self, channel: LongConnChannel, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        """Take the sender's relayed requests and hand them to the connection's loop."""
        while not stop.is_set():
            try:
                request = relay.take(self.redis, self.config.bot_id, block=0.5)
            except redis.RedisError as exc:
                log.error("relay: redis error: %s", exc)
                time.sleep(0.5)
                continue
            if request is not None:
                asyncio.run_coroutine_threadsafe(channel.relay(request), loop)


def _bot_names(settings: Settings) -> tuple[str, ...]:
    return settings.aibot_names


def _safe(func):
    try:
        return func()
    except redis.RedisError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program("connect"),
                                     description="hold the AI bot's long connection (WECOM_BOT_ID / WECOM_BOT_SECRET)")
    parser.parse_args(argv)
    settings = settings_or_report()
    if settings is None:
        return 2
    try:
        config = longconn_settings(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if config is None:
        print("configuration error: set WECOM_BOT_ID and WECOM_BOT_SECRET (the AI bot's page in the WeCom admin "
              "console, API mode 长连接)", file=sys.stderr)
        return 2
    holder = Holder(settings, redis_client(settings), config)
    # It holds the answering services: it answers what the ocr process read, as the web processes do (a
    # deployment on the long connection alone may run no web process).
    answerer = answer_ocr_text(holder.redis, holder.pipeline)

    stop_on_signals(holder.stop, answerer.stop)
    code = holder.run()
    if code == EXIT_AUTH:
        print("long connection: WeCom refused the Bot ID/Secret (see the log above)", file=sys.stderr)
    elif code == EXIT_KICKED:
        print("long connection: kicked by a connection this deployment does not know of (see the log above)",
              file=sys.stderr)
    return code
