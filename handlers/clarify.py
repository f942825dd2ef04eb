"""Ask what was meant instead of acting on a guess; a 「是」 then acts on the guess.

The understanding step returns ``clarify`` with the guess as ``proposal`` when a message would change
progress but is ambiguous where the user is; the guess is kept in progress and the next message's
reading (bot.understand: "confirm_reading") turns a yes into that reading.
"""

from __future__ import annotations

from bot.core.messages import Reply, Result
from bot.core.progress_reducer import Asked, Change
from handlers import views
from handlers.context import HandlerContext

CONFIRM_READING = "confirm_reading"


def handle(ctx: HandlerContext) -> Result | None:
    reading = ctx.reading
    if reading.intent != "clarify":
        return None
    proposal = reading.proposal
    if reading.kind == "bad_item" and 1 <= ctx.progress.step <= len(ctx.guide.steps):
        return Result(views.bad_item(ctx))
    if reading.kind in ("unknown", "empty") and proposal is None:
        return None  # nothing to ask about: the fallback says what the bot can do
    proposed = None
    changes: list[Change] = []
    if proposal is not None:
        proposed = proposal.slots_json()
        changes.append(Asked(CONFIRM_READING, {**proposed, "asked_by": reading.asked_by}))
    context = views.base(ctx, kind=reading.kind, proposal=proposed, target_step=proposal.step if proposal else None)
    return Result(Reply("clarify", context), changes)
