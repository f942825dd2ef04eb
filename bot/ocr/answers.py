"""Answer the text the OCR process read (``{wb}:ocr:text``), in a process that holds the answering services.

Runs as a background thread in each web process (started by gunicorn's ``post_worker_init``,
bot/web/gunicorn_conf.py) and in each ``connect`` process (a long-connection-only deployment may run no web
process): both load the understanding model and the knowledge base anyway, so answering there costs them no
memory, while the ``ocr`` process holds only the OCR model. (The worker would have had to load them:
63 → 319 MB; docs/ocr.md, "How fast, how big".) This module imports neither the model nor Pillow: the web
processes never do.

The answerers share one consumer group (``wb:ocr:answer``); each entry goes to one of them. An entry is
acknowledged and deleted in the same MULTI that queues its answer, so an entry is answered, or it stays
pending. An entry pending for ``CLAIM_IDLE`` seconds (its web process died or restarted) is claimed by
any answerer; answering it again is harmless: the pipeline gives the cached reply of ``<msg_id>:ocr``
and the answer keeps its outbox id, which the sender delivers once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any, cast

import redis

from bot.channels.aibot.protocol import addressed
from bot.channels.app.protocol import TRANSPORT as APP_TRANSPORT
from bot.channels.kf.protocol import TRANSPORT as KF_TRANSPORT
from bot.core.keys import OCR_ANSWER_GROUP, OCR_TEXT_STREAM
from bot.core.messages import Incoming
from bot.core.render import MARKDOWN, TEXT
from bot.infra import redis_conn
from bot.ocr.handoff import TextRead
from bot.outbound import queue
from bot.outbound.entry import USER, OutboxMessage

if TYPE_CHECKING:
    from flask import Flask

    from bot.core.pipeline import Pipeline

log = logging.getLogger(__name__)

CLAIM_IDLE = 30.0  # seconds: an answer takes well under one (the user's lock waits 3 s at most)
MAX_DELIVERIES = 10  # an entry still unanswered after this many tries (Redis busy, a bug) is dropped, logged
BATCH = 10


class Answerer:
    def __init__(self, client: redis.Redis, pipeline: Pipeline, *, consumer: str | None = None,
                 claim_idle: float = CLAIM_IDLE, max_deliveries: int = MAX_DELIVERIES) -> None:
        self.redis = client
        self.pipeline = pipeline
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}"
        self.claim_idle_ms = int(claim_idle * 1000)
        self.max_deliveries = max_deliveries
        self._stop = threading.Event()

    def ensure_group(self) -> None:
        redis_conn.ensure_group(self.redis, OCR_TEXT_STREAM, OCR_ANSWER_GROUP)  # text read before any answerer counts

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Answer until stopped; Redis errors are waited out (entries stay pending meanwhile)."""
        ready, failing = False, False
        log.info("OCR answerer %s started", self.consumer)
        while not self._stop.is_set():
            try:
                if not ready:
                    self.ensure_group()
                    ready = True
                self.poll(block_ms=1000)
                failing = False
            except redis.RedisError as exc:
                if not failing:
                    log.warning("OCR answerer: redis unavailable (%s); retrying", type(exc).__name__)
                failing = True
                ready = ready and "NOGROUP" not in str(exc)  # the stream was lost (a Redis without its data)
                self._stop.wait(1.0)
            except Exception:  # a bug must not end the thread: the next entries still get answers
                log.exception("OCR answerer failed; retrying")
                self._stop.wait(1.0)

    def poll(self, block_ms: int | None = 1000) -> int:
        """Answer the entries a dead answerer left (claimed first), else the next new ones; returns how many
        entries were settled (answered or dropped)."""
        reply = self.redis.xautoclaim(OCR_TEXT_STREAM, OCR_ANSWER_GROUP, self.consumer,
                                      min_idle_time=self.claim_idle_ms, start_id="0-0", count=BATCH)
        trimmed = reply[2] if len(reply) > 2 else []
        if trimmed:  # trimmed from the stream while pending: nothing left to answer
            self.redis.xack(OCR_TEXT_STREAM, OCR_ANSWER_GROUP, *trimmed)
        if reply[1]:
            return self._settle(reply[1], claimed=True)
        new = cast(list[Any], self.redis.xreadgroup(OCR_ANSWER_GROUP, self.consumer, {OCR_TEXT_STREAM: ">"},
                                                    count=BATCH, block=block_ms))
        return self._settle([e for _stream, batch in (new or []) for e in batch], claimed=False)

    def _settle(self, entries: list, claimed: bool) -> int:
        settled = 0
        for entry_id, fields in entries:
            read = TextRead.from_fields(fields)
            if read is None or (claimed and self._deliveries(entry_id) > self.max_deliveries):
                log.error("OCR text entry %s dropped: %s", entry_id, "malformed" if read is None else "too many tries")
                self._finish(entry_id, None)
                settled += 1
                continue
            message = self.answer(read)
            if message is None:  # busy or Redis down: stays pending, claimed again after CLAIM_IDLE
                continue
            self._finish(entry_id, message)
            settled += 1
        return settled

    def answer(self, read: TextRead) -> OutboxMessage | None:
        """The answer to queue for ``read`` (committed to the user's progress), or None when the pipeline
        could not answer now (nothing was committed)."""
        route = read.route
        transport = str(route.get("transport") or APP_TRANSPORT)
        incoming = Incoming(transport, str(route.get("corp_id") or ""), str(route.get("user_id") or ""),
                            msg_id=f"{route.get('msg_id')}:ocr", text=read.text, kind="ocr",
                            chat_type=str(route.get("chat_type") or "single"), chat_id=route.get("chat_id"),
                            extra={"confidence": read.confidence, "bad": read.bad, "secret_seen": read.secret_seen})
        fmt = TEXT if transport in (APP_TRANSPORT, KF_TRANSPORT) else MARKDOWN  # the app and 微信客服 show plain text
        outgoing = self.pipeline.process(incoming, fmt)
        if outgoing.transient:
            log.warning("image %s/%s not answered now; retried later", transport, route.get("msg_id"))
            return None
        return OutboxMessage(USER, addressed(outgoing.text, outgoing.mention), to_user=incoming.user_id, fmt=fmt,
                             id=f"ocr-{transport}-{route.get('msg_id')}",
                             meta={"user_key": read.user_key, "kind": "ocr_answer", "transport": transport,
                                   "chat_id": incoming.chat_id})

    def _finish(self, entry_id: Any, message: OutboxMessage | None) -> None:
        """Queue the answer, acknowledge and delete the entry (the text is kept in the conversation log only)."""
        pipe = self.redis.pipeline(transaction=True)
        if message is not None:
            queue.add(pipe, message)
        pipe.xack(OCR_TEXT_STREAM, OCR_ANSWER_GROUP, entry_id)
        pipe.xdel(OCR_TEXT_STREAM, entry_id)
        pipe.execute()

    def _deliveries(self, entry_id: Any) -> int:
        pending = self.redis.xpending_range(OCR_TEXT_STREAM, OCR_ANSWER_GROUP, min=entry_id, max=entry_id, count=1)
        return int(pending[0]["times_delivered"]) if pending else 0


def start(client: redis.Redis, pipeline: Pipeline) -> Answerer:
    """Answer OCR text in this process, on a daemon thread (a greenlet under gevent workers)."""
    answerer = Answerer(client, pipeline)
    threading.Thread(target=answerer.run, name="ocr-answers", daemon=True).start()
    return answerer


def start_in_web(app: Flask) -> Answerer:
    """The web process's answerer (bot/web/gunicorn_conf.py), with the app's Redis client and pipeline."""
    from bot.web.app import runtime_of

    runtime = runtime_of(app)
    return start(runtime.redis, runtime.pipeline)
