"""Greetings, thanks and acknowledgements: one friendly line and the next useful action."""

from __future__ import annotations

from bot.core.messages import Reply, Result
from handlers import views
from handlers.context import HandlerContext


def handle(ctx: HandlerContext) -> Result | None:
    reading = ctx.reading
    if reading.intent == "smalltalk":
        kind = reading.kind or "ack"
    elif reading.intent in ("confirm", "cancel"):
        kind = "ack"  # a 是 / 不是 with nothing asked: acknowledge, change nothing
    else:
        return None
    return Result(Reply("smalltalk", views.base(ctx, kind=kind), views.step_buttons(ctx)))
