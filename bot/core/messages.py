"""The transport-neutral shapes that flow through the pipeline.

Transports turn WeCom payloads into an ``Incoming``; handlers answer with a ``Result`` (a ``Reply``
to render plus the progress changes that happened, whose records are the domain ``Event``s); the
pipeline renders the reply into an ``Outgoing`` that the transport wraps for WeCom. Handlers never see
a WeCom detail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bot.core.keys import key_parts
from bot.core.records import Event

if TYPE_CHECKING:
    from bot.core.progress_reducer import Change


@dataclass(frozen=True)
class Incoming:
    transport: str  # "app" (self-built app callback), "aibot" (AI bot callback), "sim", ...
    corp_id: str
    user_id: str
    msg_id: str  # dedupe key, unique within the transport
    text: str = ""
    kind: str = "text"  # "text" | "event" | "unsupported" | "image" (a screenshot) | "ocr" (text read from one)
    event: str | None = None  # "welcome", "card_click", "feedback", ...
    event_key: str | None = None  # the button a card click pressed
    chat_type: str = "single"  # "single" | "group"
    chat_id: str | None = None
    response_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def user_key(self) -> str:
        """Progress is per person, not per chat: the same key from the private chat and every group.

        Both parts are escaped (bot.core.keys), so the key has exactly one ``:`` and no hash-tag braces.
        """
        return key_parts(self.corp_id, self.user_id)


@dataclass(frozen=True)
class Button:
    key: str  # acts as the matching command when pressed
    label: str = ""  # filled from templates/chat/<lang>/buttons.j2 when rendered


@dataclass
class Reply:
    """What to say: a template name (under templates/chat/<lang>/) and its context."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    buttons: list[Button] = field(default_factory=list)


@dataclass
class Result:
    """A handler's answer: what to say and what happened (``changes``, applied by bot.core.progress_reducer)."""

    reply: Reply
    changes: list[Change] = field(default_factory=list)
    # What the bot understood (intent or FAQ topic, with a confidence), for the operator's conversation view.
    reading: dict[str, Any] | None = None
    # A reply for the user's private chat (details asked for in a group), queued with the same commit.
    private: Reply | None = None
    # The records the changes made, filled in when they are applied (handlers.registry.dispatch), never by a handler.
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Outgoing:
    """A rendered reply, ready for a transport: the text in the transport's format, plus buttons."""

    text: str
    buttons: tuple[Button, ...] = ()
    mention: str | None = None  # user to address by mention in a group
    lang: str = "zh"  # the language the text is in (for a transport's own wording, e.g. a card title)
    transient: bool = False  # a system reply (busy, slow down, error): nothing was committed or cached

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outgoing:
        return cls(
            text=data["text"],
            buttons=tuple(Button(**b) for b in data.get("buttons", ())),
            mention=data.get("mention"),
            lang=data.get("lang", "zh"),
        )
