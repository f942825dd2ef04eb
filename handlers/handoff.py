"""Asking for a person, and keeping out of the way while a person has the user.

Why here and not in the FAQ or step handlers: one place decides when a hand-off opens (so staff are
told once, when it opens, not for every "人工"), and one handler, placed before the FAQ, holds back
free-text questions while it is active. Commands are handled earlier in the chain, so "进度" or
"勾选 2" still work; staff close the hand-off in the operator view, or it times out.
"""

from __future__ import annotations

from bot.core import handoff_state
from bot.core.messages import Reply, Result
from bot.core.progress_reducer import Change, HandoffOpened, HandoffTimedOut, Note
from handlers import views
from handlers.context import HandlerContext, Passed


def request(ctx: HandlerContext, reason: str = "asked", prior: list[Change] | None = None) -> Result:
    """The user wants a person (or the FAQ ran out of answers): queue them, tell staff once."""
    progress = ctx.progress
    reachable = bool(ctx.services.support_staff)  # something can reach staff (bot.wiring.services)
    reading = {"intent": "human", "confidence": 1.0} if reason == "asked" else None
    if handoff_state.is_active(progress, ctx.now, ctx.services.handoff_timeout):
        context = views.base(ctx, notified=reachable, claimed=progress.handoff.get("state") == handoff_state.CLAIMED,
                             again=True)
        return Result(Reply("human", context), list(prior or []), reading=reading)
    context = views.base(ctx, notified=reachable, claimed=False, again=False)
    extra = [] if reason == "faq" else [Note("human_requested")]  # faq_escalated tells staff itself
    return Result(Reply("human", context), [*(prior or []), *extra, HandoffOpened(reason)], reading=reading)


def hold(ctx: HandlerContext) -> Result | Passed | None:
    """While a person has the user, the bot does not answer their questions; past the timeout it does again.

    No FAQ follow-up question is open while a person talks to the user: the message made the last one
    lapse, and a held message asks none."""
    progress = ctx.progress
    if not handoff_state.is_open(progress) or ctx.incoming.kind != "text" or not ctx.incoming.text.strip():
        return None
    if not handoff_state.is_active(progress, ctx.now, ctx.services.handoff_timeout):
        # answered as usual from now on
        return Passed([HandoffTimedOut(after=round(ctx.now - float(progress.handoff["since"])))])
    context = views.base(ctx, claimed=progress.handoff.get("state") == handoff_state.CLAIMED)
    return Result(Reply("handoff_held", context), [Note("handoff_message")],
                  reading={"held": True, "reason": "a person has this user"})
