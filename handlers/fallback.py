"""The last resort: say what the bot can do, and where the user is."""

from __future__ import annotations

from bot.core.messages import Reply, Result
from handlers import views
from handlers.context import HandlerContext


def handle(ctx: HandlerContext) -> Result:
    return Result(Reply("fallback", views.base(ctx)), [])
