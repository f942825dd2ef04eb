"""Commands answered from data: an intent in data/understanding/intents.yaml with ``answer: <template>``.

Adding such a command ("我的AppID在哪") takes its examples in intents.yaml and its wording in
templates/chat/<lang>/<answer>.j2 — no handler code; ``python -m bot check`` verifies the templates exist.
"""

from __future__ import annotations

from bot.core.messages import Reply, Result
from handlers import views
from handlers.context import HandlerContext


def handle(ctx: HandlerContext) -> Result | None:
    answer = ctx.reading.answer
    if not answer:
        return None
    return Result(Reply(answer, views.base(ctx), views.step_buttons(ctx)))
