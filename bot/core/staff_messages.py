"""Messages staff cause to reach a user: hand-off news (claimed, resolved, timed out) and their own replies.

Why one place: each is an outbox entry to one user (``USER``: ``bot.outbound.routing`` alone decides the
channel — the one the user last wrote on — and the sender splits it at that channel's byte limits)
plus the line the user's conversation shows, written by the caller in the same commit. A staff reply
is redacted before it is queued or stored, like every text the bot keeps.
"""

from __future__ import annotations

from typing import Any

from bot.core.conversation import entry
from bot.core.messages import Reply
from bot.core.progress import Progress
from bot.core.redact import redact_secrets
from bot.core.render import MARKDOWN, TEXT, Renderer
from bot.outbound.entry import USER, OutboxMessage

MAX_REPLY_CHARS = 2000  # a reply box, not a document: the sender still splits it per channel
DEFAULT_OPERATOR = "admin"  # the login's name when staff gave none: no name to show to users
STAFF_REPLY = "staff_reply"  # the conversation's template tag of a staff member's own message


class EmptyReply(ValueError):
    """Nothing to send (empty, or only whitespace)."""


def shown_name(operator: str) -> str:
    """The name a user sees: the one staff chose at login, none for the anonymous default."""
    name = operator.strip()
    return "" if name in ("", DEFAULT_OPERATOR) else name


def notice(renderer: Renderer, progress: Progress, template: str, context: dict[str, Any], *, by: str,
           now: float, message_id: str | None = None) -> tuple[OutboxMessage, dict[str, Any]]:
    """A templated message to the user (markdown where shown, the plain variant for the app) and its
    conversation line."""
    reply = Reply(template, context)
    markdown = renderer.render(reply, progress.lang, MARKDOWN)
    plain = renderer.render(reply, progress.lang, TEXT)
    meta = {"plain": plain, "user_key": progress.user_key, "kind": template, "by": by}
    message = OutboxMessage(USER, markdown, to_user=progress.user_id, fmt="markdown", meta=meta)
    if message_id:
        message.id = message_id
    line = entry(at=now, text="", reply=plain, template=template, reading=None, chat_type="private", by=by)
    return message, line


def staff_reply(progress: Progress, text: str, *, by: str, now: float) -> tuple[OutboxMessage, dict[str, Any]]:
    """A staff member's own words to the user, redacted, as plain text (every channel shows it as written)."""
    cleaned, _ = redact_secrets(text.strip()[:MAX_REPLY_CHARS])
    if not cleaned.strip():
        raise EmptyReply("write something to send")
    meta = {"user_key": progress.user_key, "kind": STAFF_REPLY, "by": by}
    message = OutboxMessage(USER, cleaned, to_user=progress.user_id, fmt=TEXT, meta=meta)
    line = entry(at=now, text="", reply=cleaned, template=STAFF_REPLY, reading=None, chat_type="private", by=by)
    line["staff"] = True
    line["reply"] = cleaned  # staff see in full what they sent (entry() cuts bot replies short)
    return message, line
