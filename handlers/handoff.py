"""Asking for a person, and keeping out of the way while a person has the user.

Why here and not in the FAQ or step handlers: one place decides when a hand-off opens (so staff are
told once, when it opens, not for every "人工"), and one handler, placed before the FAQ, holds back
free-text questions while it is active. Commands are handled earlier in the chain, so "进度" or
"勾选 2" still work; staff close the hand-off in the operator view, or it times out.
"""

from __future__ import annotations

from bot.core import handoffs
from bot.core.messages import Event, Reply, Result
from handlers import views
from handlers.context import HandlerContext


def request(ctx: HandlerContext, reason: str = "asked", events: list[Event] | None = None) -> Result:
    """The user wants a person (or the FAQ ran out of answers): queue them, tell staff once."""
    progress = ctx.progress
    reachable = bool(ctx.services.support_staff)  # something can reach staff (bot.wiring.services)
    reading = {"intent": "human", "confidence": 1.0} if reason == "asked" else None
    if handoffs.is_active(progress, ctx.now, ctx.services.handoff_timeout):
        context = views.base(ctx, notified=reachable, claimed=progress.handoff.get("state") == handoffs.CLAIMED,
                             again=True)
        return Result(Reply("human", context), list(events or []), reading=reading)
    handoffs.open_handoff(progress, ctx.now, reason)
    context = views.base(ctx, notified=reachable, claimed=False, again=False)
    extra = [] if reason == "faq" else [Event("human_requested", {})]  # faq_escalated tells staff itself
    return Result(Reply("human", context), [*(events or []), *extra, Event("handoff_opened", {"reason": reason})],
                  reading=reading)


def hold(ctx: HandlerContext) -> Result | None:
    """While a person has the user, the bot does not answer their questions; past the timeout it does again."""
    progress = ctx.progress
    if not handoffs.is_open(progress) or ctx.incoming.kind != "text" or not ctx.incoming.text.strip():
        return None
    if not handoffs.is_active(progress, ctx.now, ctx.services.handoff_timeout):
        closed = handoffs.close(progress)
        progress.record("handoff_timed_out", ctx.now, after=round(ctx.now - float(closed["since"])))
        return None  # answered as usual from now on
    progress.pending = None  # no FAQ follow-up question is open while a person talks to the user
    context = views.base(ctx, claimed=progress.handoff.get("state") == handoffs.CLAIMED)
    return Result(Reply("handoff_held", context), [Event("handoff_message", {})],
                  reading={"held": True, "reason": "a person has this user"})
