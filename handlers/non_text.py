"""Non-text input: entering the chat, feedback, the FAQ menu button, media the bot cannot read.

A card button that stands for a command is read as that command by the understanding step
(bot.understand.buttons), so the handlers that answer the typed command answer the click too.
"""

from __future__ import annotations

from bot.core.messages import Reply, Result
from bot.core.progress_reducer import Note
from handlers import views
from handlers.context import HandlerContext


def handle(ctx: HandlerContext) -> Result | None:
    incoming = ctx.incoming
    if incoming.kind == "unsupported":
        return Result(Reply("unsupported", views.base(ctx)))
    if incoming.kind != "event":
        return None
    if incoming.event == "welcome":
        return Result(Reply("welcome", views.base(ctx), views.step_buttons(ctx)), [Note("entered")])
    if incoming.event == "feedback":
        return Result(Reply("feedback_thanks", {}), [Note("feedback", {"value": incoming.event_key or ""})])
    if incoming.event == "card_click":
        if ctx.reading.kind == "faq_menu":
            return Result(Reply("faq_menu", views.base(ctx)))
        if ctx.reading.source == "button":
            return None  # a command: answered by its handler below
        return Result(Reply("fallback", views.base(ctx)))
    return Result(Reply("silent", {}))  # an event we do not answer: empty 200
