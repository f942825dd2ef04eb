""""详情": the current step in full (every item, its warnings and links), which short replies leave out.

Why a separate reply: the default answers carry only the next action so they fit a chat window; the
whole checklist is there for whoever asks. In a group it goes to the user's private chat when the app
can reach them, so the group sees one line instead of a wall of text.
"""

from __future__ import annotations

from bot.core.messages import Reply, Result
from bot.core.progress import FINISHED, NOT_STARTED
from handlers import views
from handlers.context import HandlerContext


def handle(ctx: HandlerContext) -> Result | None:
    if ctx.reading.intent != "details":
        return None
    step = ctx.progress.step
    if step == NOT_STARTED:
        return Result(Reply("status", views.base(ctx)))
    if step == FINISHED:
        return Result(Reply("all_done", views.base(ctx)))
    details = Reply("details", views.base(ctx), views.step_buttons(ctx))
    if ctx.incoming.chat_type == "group" and ctx.services.can_message_privately:
        return Result(Reply("details_sent", views.base(ctx)), private=details)
    return Result(details)
