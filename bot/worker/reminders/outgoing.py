"""The messages reminders and notices send: rendered from templates, queued in the outbox once.

Wording lives in the templates (``reminder_*``, ``notice_*``); here is only which channel a message
takes and how it is queued exactly once however often a job or an event is run again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis

from bot.core import conversation
from bot.core.keys import REMINDER_DONE_PREFIX
from bot.core.messages import Reply
from bot.core.progress import STEP_COUNT, Progress
from bot.core.records import Event
from bot.core.render import MARKDOWN, TEXT
from bot.outbound import elapsed
from bot.outbound.entry import APP, USER, WEBHOOK, OutboxMessage
from bot.outbound.queue import add as outbox_add
from bot.outbound.routing import GROUP, STAFF, staff_address
from bot.worker.reminders.context import ReminderContext

DONE_TTL = 8 * 86400  # seconds a job's "queued" marker is kept: a rerun within it queues nothing again


def user_message(ctx: ReminderContext, progress: Progress, template: str, context: dict[str, Any],
                 message_id: str) -> OutboxMessage:
    """A message to the user: markdown for surfaces that show it, the plain variant kept for the app."""
    reply = Reply(template, context)
    markdown = ctx.renderer.render(reply, progress.lang, MARKDOWN)
    plain = ctx.renderer.render(reply, progress.lang, TEXT)
    # To the user, not a channel: routing (bot.outbound.routing) picks where they last spoke.
    return OutboxMessage(USER, markdown, to_user=progress.user_id, fmt="markdown", id=message_id,
                         meta={"plain": plain, "user_key": progress.user_key, "kind": template})


def staff_message(ctx: ReminderContext, progress: Progress, template: str, context: dict[str, Any],
                  message_id: str) -> OutboxMessage | None:
    """To support staff, addressed as routing says (``bot.outbound.routing.staff_address``): the staff
    group (webhook, else WECOM_NOTICE_CHATID on the long connection), else privately via the app; None
    when nothing reaches staff."""
    address = staff_address(ctx.settings, progress.user_id)
    if address is None:
        return None
    text = ctx.renderer.render(Reply(template, context), progress.lang, MARKDOWN)
    meta = {"kind": template, "user_key": progress.user_key, "audience": STAFF}
    if address.channel == APP:  # the app's chat shows markdown poorly: it sends the plain variant
        meta["plain"] = ctx.renderer.render(Reply(template, context), progress.lang, TEXT)
    return OutboxMessage(address.channel, text, to_user=address.to_user, fmt="markdown", id=message_id, meta=meta)


def group_notice(ctx: ReminderContext, progress: Progress, user_key: str, event: Event, chat_id: str,
                 message_id: str) -> OutboxMessage:
    """A group the user wrote in hears of a step done or of the whole guide done (``notice_<event kind>``)."""
    context: dict[str, Any] = {"user": progress.user_id, "mention": None if progress.muted else progress.user_id}
    if event.kind == "step_completed":
        number = int(event.data.get("step", 0))
        nxt = ctx.guide.step(number + 1) if number < STEP_COUNT else None
        context.update(step=number, title=ctx.guide.step(number).title.in_(progress.lang),
                       next_step=number + 1 if nxt else None,
                       next_title=nxt.title.in_(progress.lang) if nxt else None)
    template = f"notice_{event.kind}"
    text = ctx.renderer.render(Reply(template, context), progress.lang, MARKDOWN)
    return OutboxMessage(WEBHOOK, text, to_user=progress.user_id, fmt="markdown", id=message_id,
                         meta={"kind": template, "user_key": user_key, "chat_id": chat_id, "audience": GROUP})


def staff_call(ctx: ReminderContext, progress: Progress, event: Event, message_id: str) -> OutboxMessage | None:
    """Staff hear that the user asked for a person, or that the FAQ ran out of answers (``notice_human``)."""
    number = progress.step
    step = ctx.guide.step(number) if 1 <= number <= STEP_COUNT else None
    context = {"user": progress.user_id, "mention": None if progress.muted else progress.user_id,
               "staff": list(ctx.settings.support_staff), "step": number if step else None,
               "title": step.title.in_(progress.lang) if step else None, "finished": progress.finished,
               "faq": event.kind == "faq_escalated", "topic": event.data.get("topic")}
    return staff_message(ctx, progress, "notice_human", context, message_id)


def queue_once(ctx: ReminderContext, base_id: str, messages: list[OutboxMessage]) -> bool:
    """Queue the messages and the done marker together, unless a previous run already did."""
    done = REMINDER_DONE_PREFIX + base_id
    with ctx.redis.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(done)
            if pipe.exists(done):
                return False
            pipe.multi()
            pipe.set(done, int(ctx.clock()), ex=DONE_TTL)
            for message in messages:
                outbox_add(pipe, message)
                _note_sent(pipe, ctx.clock(), message)
            pipe.execute()
            return True
        except redis.WatchError:
            return False


def _note_sent(pipe, now: float, message: OutboxMessage) -> None:
    """A reminder to the user appears in their conversation (the operator's user page), sent by the bot."""
    user_key = message.meta.get("user_key")
    if not user_key or message.meta.get("audience") == STAFF:
        return
    text = elapsed.fill(message.meta.get("plain") or message.text, message.meta, now)
    conversation.add(pipe, user_key, conversation.entry(
        at=now, text="", reply=text, template=str(message.meta.get("kind")),
        reading=None, chat_type="private", by="reminder"))


def digest(*parts: Any) -> str:
    """A short stable id for message ids and done markers (same parts, same id, in every process)."""
    raw = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(raw.encode()).hexdigest()[:24]
