"""The conversation staff read on a user's page: what the user wrote, what the bot answered, and what
the bot understood (intent or FAQ topic, with its confidence).

Why a list of its own: the progress document is read on every message, so a transcript inside it
would make every message pay for it. Instead each handled message appends one bounded entry in the
same commit (``bot.core.store.Store.commit``). The user text is already redacted by the pipeline; the
bot's reply is cut short (the full wording is in the templates).

The same exchanges tell when an answer did not help: "2 还不行" after an FAQ answer, or "人工"
right after a confident one; :func:`unanswered_signal` turns those into an entry for the
unanswered list, with the question that got the answer.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from bot.core.keys import conversation_key
from bot.core.records import Event

CONVERSATION_LIMIT = 100  # entries kept per user, newest first
REPLY_CHARS = 400  # the bot's reply is kept this long
TEXT_CHARS = 500  # the user's text (already redacted) is kept this long
HUMAN_AFTER_ANSWER_SECONDS = 1800  # "人工" this soon after a confident answer means the answer failed
REJECTED = "answer_rejected"  # the event kind that lands in the unanswered list


def entry(*, at: float, text: str, reply: str, template: str, reading: dict[str, Any] | None,
          chat_type: str, held: bool = False, by: str | None = None) -> dict[str, Any]:
    """One exchange; ``by`` marks a message the bot sent on its own ("reminder") or an operator's nudge."""
    record: dict[str, Any] = {"at": at, "text": text[:TEXT_CHARS], "reply": _cut(reply), "template": template,
                              "reading": reading, "chat": chat_type}
    if by:
        record["by"] = by
    if held:
        record["held"] = True  # a person had the user: the bot did not answer the question
    return record


def add(pipe: redis.client.Pipeline, user_key: str, record: dict[str, Any]) -> None:
    key = conversation_key(user_key)
    pipe.lpush(key, json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    pipe.ltrim(key, 0, CONVERSATION_LIMIT - 1)


def recent(client: redis.Redis, user_key: str, limit: int = CONVERSATION_LIMIT) -> list[dict[str, Any]]:
    """Newest first; an unreadable entry is skipped, not fatal for the page."""
    out = []
    for raw in client.lrange(conversation_key(user_key), 0, max(0, limit - 1)):
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def exchange(previous: dict[str, Any], text: str, reading: dict[str, Any] | None, at: float) -> dict[str, Any]:
    """What to remember of this message for the next one (kept in the progress document).

    ``question``: the text that a search answered; a follow-up choice ("1") or a retry keeps the
    question it follows, so a later rejection names what the user actually asked.
    """
    searched = reading is not None and reading.get("score") is not None
    question = text if searched or not previous else previous.get("question") or text
    return {"at": at, "text": text[:TEXT_CHARS], "reading": reading, "question": question[:TEXT_CHARS]}


def unanswered_signal(previous: dict[str, Any], events: list[Event], now: float) -> Event | None:
    """An answer the user rejected, or a confident answer followed by a call for a person."""
    reading = previous.get("reading") or {} if previous else {}
    if reading.get("kind") != "faq":
        return None
    kinds = {event.kind for event in events}
    if "faq_rejected" in kinds:
        reason = "rejected"
    elif "human_requested" in kinds and reading.get("score") is not None \
            and now - float(previous.get("at") or 0) <= HUMAN_AFTER_ANSWER_SECONDS:
        reason = "human_after_answer"
    else:
        return None
    return Event(REJECTED, {"reason": reason, "text": str(previous.get("question") or "")[:TEXT_CHARS],
                            "best_guess": reading.get("topic"), "score": reading.get("score")})


def _cut(text: str) -> str:
    return text if len(text) <= REPLY_CHARS else text[: REPLY_CHARS - 1] + "…"
