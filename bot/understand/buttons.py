"""Card buttons read as the commands they stand for: a click is one more way of saying something."""

from __future__ import annotations

from bot.understand.reading import Reading

# button key -> intent (the keys are those of templates/chat/<lang>/buttons.j2)
BUTTON_INTENTS = {
    "start": "start",
    "status": "status",
    "details": "details",
    "done": "done",
    "next": "next",
    "help": "help",
    "cert_submitted": "cert_submitted",
    "cert_passed": "cert_passed",
    "cert_failed": "cert_failed",
    "mute": "mute",
    "unmute": "unmute",
    "human": "human",
    "resolved": "confirm",  # "解决了吗？" answered with a button
    "unresolved": "cancel",
}
NO_READING = Reading("", 0.0, source="event")  # an event that means nothing to understand (enter_chat, …)


def read_button(key: str | None, pending: str | None) -> Reading:
    if key == "faq":
        return Reading("help", 1.0, kind="faq_menu", source="button")
    intent = BUTTON_INTENTS.get(key or "")
    if intent is None:
        return NO_READING
    kind = "feedback" if key in ("resolved", "unresolved") and pending == "faq_feedback" else None
    return Reading(intent, 1.0, kind=kind, source="button")
