"""Reminder preferences: a user can silence nudges and turn them back on."""

from __future__ import annotations

from bot.core.messages import Reply, Result
from bot.core.progress_reducer import Change, Muted
from handlers import views
from handlers.context import HandlerContext


def handle(ctx: HandlerContext) -> Result | None:
    intent = ctx.reading.intent
    if intent not in ("mute", "unmute"):
        return None
    changes: list[Change] = [Muted(intent == "mute")]
    return Result(Reply(intent, views.base(ctx.after(changes))), changes)
