"""The handler registry: tried in order, the first answer wins, so precedence is visible in one place.

Each handler is a function ``(HandlerContext) -> Result | Passed | None``; ``None`` means "not mine".
Handlers only decide: the changes of the answer are applied here, by the one reducer
(bot.core.progress_reducer), which also writes their records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.core.messages import Result
from bot.core.progress_reducer import Change, apply_in_place
from handlers import (
    answers,
    certification,
    clarify,
    details,
    fallback,
    faq,
    handoff,
    image,
    non_text,
    preferences,
    smalltalk,
    steps,
)
from handlers.context import HandlerContext, Passed

Handler = Callable[[HandlerContext], Result | Passed | None]

HANDLERS: tuple[Handler, ...] = (
    image.acknowledge,  # a screenshot: "正在识别…", and the OCR process reads it (bot.ocr)
    non_text.handle,  # enter_agent / enter_chat / feedback / the FAQ-menu button / unsupported media
    clarify.handle,  # "你是说…吗？" when a change of state is ambiguous where the user is
    steps.handle_pending_confirmation,  # "确认" after a reset request
    faq.handle_feedback,  # "1 已解决 / 2 还不行" after an FAQ answer, a number after "did you mean"
    steps.handle,  # start, status, next, back, goto, done, check, uncheck, reset, help, human
    certification.handle,  # submitted, passed, failed
    preferences.handle,  # mute / unmute reminders
    details.handle,  # "详情": the whole checklist (privately when asked in a group)
    handoff.hold,  # a person has this user: free text (questions, chat) is for them, not for the bot
    answers.handle,  # commands answered from data (intents.yaml `answer:` + a template)
    smalltalk.handle,  # greetings, thanks, acknowledgements
    image.answer,  # the text read from a screenshot: its error code, the FAQ, or "here is what I read"
    faq.handle_question,  # a question: the knowledge base's answer, or honest doubt
    fallback.handle,  # say what the bot can do
)


def dispatch(ctx: HandlerContext) -> Result:
    """The first answer, with its changes applied to ``ctx.progress`` and their records in ``events``."""
    progress = ctx.progress
    passed: list[Change] = []  # from a handler that let the message through (a timed-out hand-off closed)
    for handler in HANDLERS:
        outcome = handler(ctx)
        if isinstance(outcome, Passed):
            passed += outcome.changes
            ctx = ctx.after(outcome.changes)
        elif outcome is not None:
            changes = [*passed, *outcome.changes]
            records = apply_in_place(progress, changes, now=ctx.now, in_group=ctx.incoming.chat_type == "group")
            return replace(outcome, changes=changes, events=records)
    raise RuntimeError("the fallback handler must always answer")
