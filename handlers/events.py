"""Non-text input: entering the chat, card buttons, feedback, and media the bot cannot read."""

from __future__ import annotations

from dataclasses import replace

from bot.messages import Event, Reply, Result
from handlers import views
from handlers.context import HandlerContext
from handlers.intents import Intent

# A card button's key acts as the matching command.
BUTTON_INTENTS = {
    "start": Intent("start"),
    "status": Intent("status"),
    "details": Intent("details"),
    "done": Intent("done"),
    "next": Intent("next"),
    "help": Intent("help"),
    "cert_submitted": Intent("cert_submitted"),
    "cert_passed": Intent("cert_passed"),
    "cert_failed": Intent("cert_failed"),
    "mute": Intent("mute"),
    "unmute": Intent("unmute"),
    "human": Intent("human"),
}
BUTTON_TEXT = {"resolved": "1", "unresolved": "2"}


def handle(ctx: HandlerContext) -> Result | None:
    incoming = ctx.incoming
    if incoming.kind == "unsupported":
        return Result(Reply("unsupported", views.base(ctx)))
    if incoming.kind != "event":
        return None
    if incoming.event == "welcome":
        return Result(Reply("welcome", views.base(ctx), views.step_buttons(ctx)), [Event("entered", {})])
    if incoming.event == "feedback":
        return Result(Reply("feedback_thanks", {}), [Event("feedback", {"value": incoming.event_key or ""})])
    if incoming.event == "card_click":
        return _card_click(ctx)
    return Result(Reply("silent", {}))  # an event we do not answer: empty 200


def _card_click(ctx: HandlerContext) -> Result:
    from handlers import dispatch  # the registry imports this module

    key = ctx.incoming.event_key or ""
    if key == "faq":
        return Result(Reply("faq_menu", views.base(ctx)))
    if key in BUTTON_TEXT:  # answers to "解决了吗？" act as the typed reply
        return dispatch(replace(ctx, incoming=replace(ctx.incoming, kind="text", event=None, text=BUTTON_TEXT[key])))
    intent = BUTTON_INTENTS.get(key)
    if intent is None:
        return Result(Reply("fallback", views.base(ctx)))
    # Re-dispatch as if the user had typed the command, with the intent already known.
    clicked = replace(ctx, incoming=replace(ctx.incoming, kind="text", event=None))
    clicked.__dict__["intent"] = intent
    return dispatch(clicked)
