"""The message pipeline: dedupe, per-user lock, load progress, run handlers, render, commit.

Transports call :meth:`Pipeline.process` with a normalised ``Incoming`` and the format they speak;
everything between the wire and the handlers happens here, once, for every transport. Progress changes
only through bot.core.progress_reducer, here as in the handlers, so what is committed and what is recorded
in the event stream come from the same changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import redis

from bot.config import setting_default
from bot.core import conversation
from bot.core.guide import Guide
from bot.core.language import detect_language
from bot.core.locking import RedisLock
from bot.core.messages import Button, Incoming, Outgoing, Reply, Result
from bot.core.progress import Progress
from bot.core.progress_reducer import (
    Activity,
    Change,
    Contacted,
    Exchanged,
    Note,
    QuestionLapsed,
    SecretRedacted,
    apply,
)
from bot.core.redact import redact_secrets
from bot.core.render import TEXT, Renderer
from bot.core.store import Store, UserBusy
from bot.core.textsplit import split_utf8, utf8_len
from bot.outbound.entry import APP, OutboxMessage

if TYPE_CHECKING:
    from bot.faq import KnowledgeBase
    from bot.understand.live_model import Understanding
from bot.understand import Context, Reading
from bot.understand.buttons import NO_READING, read_button
from handlers.context import HandlerContext
from handlers.registry import dispatch

log = logging.getLogger(__name__)

RESPONSE_URL_TTL = 3600  # WeCom: an AI-bot response_url is valid for one hour, once


@dataclass
class Services:
    """What the pipeline needs, built once per process by the composition root (bot.wiring.services); handlers
    see only its ``handlers.context.HandlerServices`` part."""

    store: Store
    renderer: Renderer
    guide: Guide
    knowledge: KnowledgeBase | None  # loaded once per process (bot.faq.shared)
    support_staff: tuple[str, ...]
    understanding: Understanding | None = None  # reads messages (bot.understand); built with the knowledge base
    clock: Callable[[], float] = time.time
    rate_limit_per_minute: int = setting_default("rate_limit_per_minute")  # per user; 0 = unlimited
    cert_check: Callable[[float], dict] | None = None  # bot.worker.reminders.stages.first_check for a submission time
    handoff_timeout: float = setting_default("handoff_timeout")  # an unresolved hand-off holds the bot back no longer
    can_message_privately: bool = False  # the app can send on its own (routing.app_sends): group details go 1:1


class Pipeline:
    def __init__(self, services: Services) -> None:
        self.services = services

    def process(self, incoming: Incoming, fmt: str, max_bytes: int | None = None) -> Outgoing:
        """Answer one message. A repeat of a message already answered gets the same answer.

        ``max_bytes``: the transport's limit for one reply; the rest of a longer reply is queued
        as follow-up messages to the user, in the same commit.
        """
        services = self.services
        try:
            begun = services.store.begin_message(incoming.user_key, incoming.transport, incoming.msg_id,
                                                 services.clock(), services.rate_limit_per_minute)
            if begun.cached is not None:
                log.info("duplicate %s/%s: cached reply", incoming.transport, incoming.msg_id)
                return begun.cached
            if begun.lock is None:
                # Counted before the lock and the handlers: one flooding user cannot tie up the workers.
                log.warning("rate limited user=%s %s/%s", incoming.user_id, incoming.transport, incoming.msg_id)
                return self._system_reply("rate_limited", incoming, fmt)
            try:
                return self._handle_locked(incoming, begun.progress, fmt, max_bytes, begun.lock)
            finally:
                begun.lock.release()  # a no-op when the commit already released it
        except UserBusy:
            log.warning("user %s busy: lock not acquired in time", incoming.user_key)
            return self._system_reply("busy", incoming, fmt)
        except redis.RedisError as exc:
            log.error("redis unavailable while handling %s/%s: %s", incoming.transport, incoming.msg_id,
                      type(exc).__name__)
            return self._system_reply("busy", incoming, fmt)
        except Exception:
            # A bug in a handler or template: the user gets an apology (not a 500 that WeCom would
            # retry three times), nothing is committed, and the log has the stack trace.
            log.exception("handler failed for %s/%s user=%s", incoming.transport, incoming.msg_id, incoming.user_id)
            return self._system_reply("error", incoming, fmt)

    def _handle_locked(self, incoming: Incoming, progress: Progress | None, fmt: str, max_bytes: int | None,
                       lock: RedisLock) -> Outgoing:
        services = self.services
        now = services.clock()
        previous_step = progress.step if progress else None
        if progress is None:
            progress = Progress.new(incoming.corp_id, incoming.user_id, now)

        text, had_secret = redact_secrets(incoming.text)
        if incoming.kind == "ocr" and incoming.extra.get("secret_seen"):  # masked already, by the OCR process
            had_secret = True
        incoming = replace(incoming, text=text)
        lang = detect_language(text, progress.lang, settled=previous_step is not None)
        progress = apply(progress, [_contact(incoming, lang, now)], now=now).progress

        pending = progress.pending
        reading = self._read(incoming, progress)
        # Whatever the bot was waiting on is answered (or lapses) now; a handler that asks anew says so.
        lapsed: list[Change] = [QuestionLapsed(), *([SecretRedacted()] if had_secret else [])]
        progress = apply(progress, lapsed, now=now).progress
        ctx = HandlerContext(incoming=incoming, reading=reading, progress=progress, now=now, services=services,
                             pending=pending)
        result = dispatch(ctx)  # applies the handler's changes to ``progress``; their records are result.events
        if had_secret:
            result = _with_secret_warning(result, from_image=incoming.kind == "ocr")

        # What staff see of the reading: the handler's own account (an FAQ answer, a held message), else
        # the understanding step's.
        shown = result.reading or (reading.to_json() if reading.intent else None)
        signal = conversation.unanswered_signal(progress.last_exchange, result.events, now)
        exchange = conversation.exchange(progress.last_exchange, incoming.text, shown, now)
        closing: list[Change] = [*([Note(signal.kind, signal.data)] if signal else []), Exchanged(exchange), Activity()]
        progress, more = apply(progress, closing, now=now)
        events = [*result.events, *more]
        outgoing = self._render(result.reply, progress.lang, fmt, incoming)
        record = conversation.entry(at=now, text=incoming.text, reply=outgoing.text, template=result.reply.template,
                                    reading=shown, chat_type=incoming.chat_type,
                                    held=bool(shown and shown.get("held")))
        outgoing, rest = _split(outgoing, max_bytes)
        # The rest goes out as one message: the sender splits it at the byte limit and sends the parts
        # in order (separate messages could be reordered by pacing and retries).
        follow_ups = [OutboxMessage(APP, "\n".join(rest), to_user=incoming.user_id, fmt=fmt,
                                    meta={"continues": incoming.msg_id, "private": incoming.chat_type != "group",
                                          "transport": incoming.transport, "chat_id": incoming.chat_id})
                      ] if rest else []
        if result.private is not None:
            follow_ups.append(self._private(result.private, progress, incoming))
        services.store.commit(progress, previous_step, events, (incoming.transport, incoming.msg_id, outgoing),
                              follow_ups, release=lock, conversation=record)
        log.info("handled %s/%s user=%s step=%s read=%s/%s %.2f reply=%s", incoming.transport, incoming.msg_id,
                 incoming.user_id, progress.step, reading.intent or "-", reading.topic or reading.kind or "-",
                 reading.confidence, result.reply.template)
        return outgoing

    def _read(self, incoming: Incoming, progress: Progress) -> Reading:
        """What the message means where this user is (the one understanding step of every channel)."""
        if incoming.kind == "event":
            return read_button(incoming.event_key, progress.pending) if incoming.event == "card_click" else NO_READING
        understanding = self.services.understanding
        if incoming.kind == "ocr" and understanding is not None:
            # Text read from a screenshot is never a command (a 「完成」 button in the picture is no "done"):
            # codes and errmsg texts first, then the words, through the same FAQ decision.
            return understanding.current.screenshot(incoming.text, context_of(progress, self.services.guide))
        if incoming.kind != "text" or understanding is None:
            return NO_READING
        return understanding.read(incoming.text, context_of(progress, self.services.guide))

    def _private(self, reply: Reply, progress: Progress, incoming: Incoming) -> OutboxMessage:
        """A reply for the user's private chat with the app (plain text: what message/send shows there)."""
        text = self.services.renderer.render(reply, progress.lang, TEXT)
        return OutboxMessage(APP, text, to_user=incoming.user_id, fmt=TEXT,
                             id=f"private-{incoming.transport}-{incoming.msg_id}",
                             meta={"private": True, "kind": reply.template, "user_key": progress.user_key})

    def _render(self, reply: Reply, lang: str, fmt: str, incoming: Incoming) -> Outgoing:
        renderer = self.services.renderer
        text = renderer.render(reply, lang, fmt)
        buttons = tuple(Button(b.key, b.label or renderer.button_label(b.key, lang)) for b in reply.buttons)
        mention = incoming.user_id if incoming.chat_type == "group" else None
        return Outgoing(text=text, buttons=buttons, mention=mention, lang=lang)

    def _system_reply(self, template: str, incoming: Incoming, fmt: str) -> Outgoing:
        """A reply that needs no Redis (it may be down): rendered from the template alone, never cached."""
        lang = detect_language(incoming.text, "zh")
        return replace(self._render(Reply(f"system/{template}"), lang, fmt, incoming), transient=True)


def _contact(incoming: Incoming, lang: str, now: float) -> Contacted:
    """Where the user last spoke, in which language, and how to reach them (for reminders)."""
    return Contacted(incoming.transport, incoming.chat_type, incoming.chat_id, lang, incoming.response_url,
                     now + RESPONSE_URL_TTL if incoming.response_url else None)


def context_of(progress: Progress, guide: Guide) -> Context:
    """The user's situation as understanding sees it."""
    step = progress.step
    items = len(guide.step(step).items) if 1 <= step <= len(guide.steps) else 0
    cert = "submitted" if progress.cert.state == "pending" else progress.cert.state
    return Context(step=step, cert=cert, item_count=items, pending=progress.pending, proposal=progress.proposal,
                   lang=progress.lang)


def _split(outgoing: Outgoing, max_bytes: int | None) -> tuple[Outgoing, list[str]]:
    if max_bytes is None or utf8_len(outgoing.text) <= max_bytes:
        return outgoing, []
    first, *rest = split_utf8(outgoing.text, max_bytes)
    return replace(outgoing, text=first), rest


def _with_secret_warning(result: Result, from_image: bool = False) -> Result:
    reply = result.reply
    context = {**reply.context, "inner_template": reply.template, "from_image": from_image}
    return replace(result, reply=Reply("secret_warning", context, reply.buttons))
