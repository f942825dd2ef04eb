"""What an operator can do: move a user to a step, reset them, nudge them now, retry a dead letter.

Why through the user's lock and ``Store.save``/``commit``: the bot may be handling a message from the
same user at that moment; the lock serialises the two read-modify-writes, and the store keeps the
step and certification indexes in the same MULTI as the progress document. Operator actions leave
``last_seen`` alone: they are not the user's activity, so "idle for" stays truthful.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from bot.core import handoff_state
from bot.core.conversation import entry, recent
from bot.core.guide import Guide
from bot.core.keys import DEAD_LETTERS, OUTBOX_QUEUE
from bot.core.messages import Reply
from bot.core.progress import CERT_PASSED, CERT_STEP, FINISHED, NOT_STARTED, STEP_COUNT, Progress
from bot.core.records import Event
from bot.core.render import TEXT, Renderer
from bot.core.staff_messages import staff_reply
from bot.core.store import Store
from bot.infra.redis_conn import as_str
from bot.outbound.entry import USER, OutboxMessage
from bot.outbound.queue import MOVE_IF_PRESENT

from .present import step_title

LOCK_WAIT = 2.0  # seconds an operator waits for a user's lock before being told to try again
DEAD_SEARCH = 10_000  # how deep a retry looks for the dead letter by id



QUESTION_LOOKBACK = 20  # conversation entries searched for the question a staff reply answers


def last_question(entries: list[dict]) -> str:
    """What a staff reply answers (entries newest first): the user's latest question — a message held
    for the person, or one read as a question — else their latest words ("人工" itself is no question)."""
    fallback = ""
    for item in entries:
        text = item.get("text")
        if not text or item.get("staff"):
            continue
        reading = item.get("reading") or {}
        if item.get("held") or reading.get("kind") in ("faq", "faq_unsure") or reading.get("intent") in (None,
                                                                                                      "question"):
            return str(text)
        fallback = fallback or str(text)
    return fallback


class UserNotFound(LookupError):
    """No progress is stored for this user key."""


@dataclass
class Operator:
    """Who acted, for the user's history (the shared token has no identity; the login asks a name)."""

    name: str = "admin"


class AdminActions:
    def __init__(self, store: Store, renderer: Renderer, guide: Guide, now: Callable[[], float]) -> None:
        self.store = store
        self.renderer = renderer
        self.guide = guide
        self.now = now
        self._move = store.redis.register_script(MOVE_IF_PRESENT)  # a double click retries once

    def move(self, user_key: str, step: int, operator: Operator) -> Progress:
        """Put the user on ``step`` (0-7); steps before it count as done, as they would in chat."""
        if not NOT_STARTED <= step <= FINISHED:
            raise ValueError(f"step must be {NOT_STARTED}..{FINISHED}")
        with self.store.user_lock(user_key, wait=LOCK_WAIT):
            progress = self._load(user_key)
            now, previous = self.now(), progress.step
            progress.move_to(step, now)
            progress.completed = sorted(set(range(1, min(step, STEP_COUNT + 1))))
            if step > CERT_STEP and progress.cert.state != CERT_PASSED:
                # Step 4 onward requires a passed certification: keep the record consistent with the step.
                progress.cert.state, progress.cert.since = CERT_PASSED, now
            progress.pending = None  # a question the bot was waiting on no longer applies
            data = {"step": step, "from": previous, "by": operator.name}
            progress.record("step_changed", now, **data)
            self.store.save(progress, previous, [Event("step_changed", data)])
            return progress

    def reset(self, user_key: str, operator: Operator) -> Progress:
        """Forget the registration state, keep who they are and how to reach them (like the chat reset)."""
        with self.store.user_lock(user_key, wait=LOCK_WAIT):
            old = self._load(user_key)
            now = self.now()
            fresh = old.reset(now)
            data = {"from": old.step, "by": operator.name}
            fresh.record("reset", now, **data)
            self.store.save(fresh, old.step, [Event("reset", data)])
            return fresh

    def nudge(self, user_key: str, operator: Operator, note: str = "") -> OutboxMessage:
        """Queue a message to the user now, in their language, and note it on their timeline.

        The message and the history entry are one commit: there is never a nudge the timeline
        does not show, nor a timeline entry for a nudge that was not queued.
        """
        note = note.strip()[:500]
        with self.store.user_lock(user_key, wait=LOCK_WAIT):
            progress = self._load(user_key)
            now = self.now()
            text = self.render_nudge(progress, note)
            message = OutboxMessage(USER, text, to_user=progress.user_id, fmt=TEXT,
                                    meta={"kind": "nudge_manual", "user_key": user_key, "by": operator.name})
            data = {"message": message.id, "by": operator.name, "step": progress.step}
            progress.record("nudge_sent", now, **data)
            sent = entry(at=now, text="", reply=text, template="nudge_manual", reading=None, chat_type="private",
                         by=operator.name)
            self.store.commit(progress, progress.step, [Event("nudge_sent", data)], None, [message], conversation=sent)
            return message

    def reply(self, user_key: str, operator: Operator, text: str) -> OutboxMessage:
        """Send a staff member's own words to the user, on the channel they last wrote on (routing decides).

        The message, the conversation line (marked as this operator's, with the question it answers,
        for "save as answer") and the history entry are one commit. A waiting hand-off counts as
        claimed by whoever replies: the user has a person now, and the timeout starts again.
        """
        with self.store.user_lock(user_key, wait=LOCK_WAIT):
            progress = self._load(user_key)
            now = self.now()
            message, line = staff_reply(progress, text, by=operator.name, now=now)
            question = last_question(recent(self.store.redis, user_key, QUESTION_LOOKBACK))
            if question:
                line["question"] = question
            if handoff_state.is_open(progress) and progress.handoff.get("state") != handoff_state.CLAIMED:
                progress.handoff = {**progress.handoff, "state": handoff_state.CLAIMED, "claimed_by": operator.name,
                                    "claimed_at": now}
            data = {"message": message.id, "by": operator.name}
            progress.record("staff_replied", now, **data)
            self.store.commit(progress, progress.step, [Event("staff_replied", data)], None, [message],
                              conversation=line)
            return message

    def render_nudge(self, progress: Progress, note: str = "") -> str:
        step = progress.step
        context = {
            "step_number": step,
            "step_count": STEP_COUNT,
            "step_title": step_title(self.guide, step, progress.lang),
            "started": step != NOT_STARTED,
            "finished": step == FINISHED,
            "cert_pending": progress.cert.state == "pending",
            "note": note,
        }
        return self.renderer.render(Reply("nudge_manual", context), progress.lang, TEXT)

    def retry_dead_letter(self, message_id: str, now: float | None = None) -> bool:
        """Move the dead letter with ``message_id`` back to the outbox with its attempts reset."""
        for raw in self.store.redis.lrange(DEAD_LETTERS, 0, DEAD_SEARCH - 1):
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("id") == message_id:
                return self._requeue(as_str(raw), now if now is not None else self.now())
        return False

    def retry_all_dead_letters(self, limit: int = 1000) -> int:
        now, moved = self.now(), 0
        for raw in self.store.redis.lrange(DEAD_LETTERS, -limit, -1):  # oldest first
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict) and self._requeue(as_str(raw), now):
                moved += 1
        return moved

    def _requeue(self, raw: str, now: float) -> bool:
        try:
            message = OutboxMessage.from_json(raw)
        except (TypeError, ValueError):
            return False
        meta = dict(message.meta or {})
        error = meta.pop("error", None)
        for stale in ("failed_at", "throttled", "not_before"):  # the sender's bookkeeping of the failed run
            meta.pop(stale, None)
        message.attempts = 0
        message.meta = {**meta, "retried_at": now, "retries": int(meta.get("retries", 0)) + 1,
                        "previous_error": error}
        return bool(self._move(keys=[DEAD_LETTERS, OUTBOX_QUEUE], args=[raw, message.to_json(), "tail"]))

    def _load(self, user_key: str) -> Progress:
        progress = self.store.load(user_key)
        if progress is None:
            raise UserNotFound(user_key)
        return progress
