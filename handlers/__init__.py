"""Handlers decide what the bot says and does; they know nothing of WeCom.

Each handler is a function ``(HandlerContext) -> Result | None``; ``None`` means "not mine". The
registry below is tried in order and the first answer wins, so precedence is visible in one place.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.messages import Result
from handlers import certification, details, events, fallback, faq, handoff, preferences, steps
from handlers.context import HandlerContext

Handler = Callable[[HandlerContext], Result | None]

HANDLERS: tuple[Handler, ...] = (
    events.handle,  # enter_agent / enter_chat / card clicks / feedback / unsupported media
    steps.handle_pending_confirmation,  # "确认重置" after a reset request
    faq.handle_feedback,  # "1 已解决 / 2 还不行" after an FAQ answer
    steps.handle,  # start, status, next, back, step N, done, check N, reset, help
    certification.handle,  # "我已经提交认证了", "认证通过了", "认证失败了"
    preferences.handle,  # mute / unmute reminders
    details.handle,  # "详情": the whole checklist (privately when asked in a group)
    handoff.hold,  # a person has this user: free text is for them, not the knowledge base
    faq.handle_question,  # free text: search the knowledge base
    fallback.handle,  # say what the bot can do
)

__all__ = ["HANDLERS", "HandlerContext", "dispatch"]


def dispatch(ctx: HandlerContext) -> Result:
    for handler in HANDLERS:
        result = handler(ctx)
        if result is not None:
            return result
    raise RuntimeError("the fallback handler must always answer")
