"""Build template contexts from progress and the guide (shared by several handlers)."""

from __future__ import annotations

from typing import Any

from bot.core.messages import Button, Reply
from bot.core.progress import CERT_PENDING, FINISHED, NOT_STARTED, STEP_COUNT
from handlers.context import HandlerContext

DONE, CURRENT, TODO = "done", "current", "todo"


def overview(ctx: HandlerContext) -> list[dict[str, Any]]:
    """All six steps with their state, for the ✅ / ▶ / ○ status line."""
    progress = ctx.progress
    rows = []
    for step in ctx.guide.steps:
        if step.number == progress.step:
            state = CURRENT
        elif step.number in progress.completed or progress.step == FINISHED:
            state = DONE
        else:
            state = TODO
        rows.append({"number": step.number, "title": step.title.in_(ctx.lang), "state": state})
    return rows


def current_step(ctx: HandlerContext) -> dict[str, Any] | None:
    step = ctx.progress.step
    if step in (NOT_STARTED, FINISHED):
        return None
    return ctx.guide.step(step).view(ctx.lang, ctx.progress.checked_items(step))


def cert_view(ctx: HandlerContext) -> dict[str, Any]:
    cert = ctx.progress.cert
    minutes = int((ctx.now - cert.since) // 60) if cert.since else None
    check = ctx.services.cert_check
    due = check(cert.since) if cert.state == CERT_PENDING and cert.since is not None and check is not None else None
    return {"state": cert.state, "minutes": minutes, "attempts": cert.attempts,
            "check": due}  # when the bot will ask for the result


def brief(step: dict[str, Any] | None) -> dict[str, Any]:
    """The short view of a step: how much of its checklist is ticked and the one next item."""
    items = step["items"] if step else []
    return {
        "next_item": next((item for item in items if not item["done"]), None),
        "ticked_count": sum(1 for item in items if item["done"]),
        "item_total": len(items),
    }


def base(ctx: HandlerContext, **extra: Any) -> dict[str, Any]:
    """Context every step-related template can rely on."""
    step = current_step(ctx)
    return {
        "overview": overview(ctx),
        "step": step,
        **brief(step),
        "step_number": ctx.progress.step,
        "step_count": STEP_COUNT,
        "finished": ctx.progress.step == FINISHED,
        "cert": cert_view(ctx),
        "muted": ctx.progress.muted,
        # in a group, the full step goes to the private chat when the app can reach the user
        "details_private": ctx.incoming.chat_type == "group" and ctx.services.can_message_privately,
        **extra,
    }


def step_buttons(ctx: HandlerContext) -> list[Button]:
    if ctx.progress.step in (NOT_STARTED, FINISHED):
        return [Button("start"), Button("faq")]
    return [Button("done"), Button("details"), Button("status"), Button("faq")]


def bad_item(ctx: HandlerContext) -> Reply:
    """"勾选 9" on a step of six items: which items the current step has (nothing is ticked)."""
    return Reply("bad_item", base(ctx, item_count=len(ctx.guide.step(ctx.progress.step).items)))
