"""The one output type of understanding, and the context it is read in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Every intent a reading can carry (the `python -m bot understand` contract uses these names).
INTENTS = (
    "start", "status", "details", "next", "back", "goto", "done", "check", "uncheck", "cert_submitted", "cert_passed",
    "cert_failed", "mute", "unmute", "reset", "human", "help", "confirm", "cancel", "smalltalk", "question",
    "clarify",
)
# Readings that change a user's progress: when the model is unsure of one, the bot asks first.
STATE_CHANGING = frozenset(
    ("start", "next", "back", "goto", "done", "check", "uncheck", "cert_submitted", "cert_passed", "cert_failed",
     "mute", "unmute", "reset")
)

CERT_NONE, CERT_SUBMITTED, CERT_FAILED, CERT_PASSED = "none", "submitted", "failed", "passed"


@dataclass(frozen=True)
class Context:
    """What the bot knows about the user when a message arrives."""

    step: int = 0  # 0 not started, 1-6, 7 finished
    cert: str = CERT_NONE  # none | submitted | failed | passed
    item_count: int = 0  # checklist items of the current step
    pending: str | None = None  # what the bot last asked ("confirm_reading", "confirm_reset", "faq_feedback", ...)
    proposal: dict[str, Any] | None = None  # the reading a "confirm_reading" question asked about
    lang: str = "zh"


@dataclass(frozen=True)
class Reading:
    """What a message means: an intent with its slots and a confidence.

    ``proposal`` is set on ``clarify``: the reading the bot thinks was meant and asks the user to
    confirm ("你是说第1步的平台审核通过了吗？"). ``kind`` refines smalltalk (greeting / thanks / ack) and
    clarify (why the bot asks). ``search`` is the knowledge-base result of a ``question``.
    """

    intent: str
    confidence: float = 1.0
    step: int | None = None
    items: tuple[int, ...] = ()
    uncheck: tuple[int, ...] = ()  # on check: a correction ("勾错了，应该是3不是2") unticks these first
    topic: str | None = None
    kind: str | None = None
    proposal: Reading | None = None
    alternatives: tuple[tuple[str, float | None], ...] = ()  # runner-up intents (with P) or topics
    asked_by: str | None = None  # on clarify: the model's label that raised the question (said again = yes)
    source: str = "model"  # model | rule | pending | button | taught | event
    search: Any = field(default=None, compare=False, repr=False)  # bot.faq.SearchResult for a question
    answer: str | None = None  # a command answered from data: the template that answers it (intents.yaml `answer`)

    def to_json(self) -> dict[str, Any]:
        """The CLI's and the conversation log's shape (no search object)."""
        data: dict[str, Any] = {
            "intent": self.intent,
            "step": self.step,
            "items": list(self.items),
            **({"uncheck": list(self.uncheck)} if self.uncheck else {}),
            "topic": self.topic,
            "confidence": round(self.confidence, 3),
            "alternatives": [[name, None if score is None else round(score, 3)] for name, score in self.alternatives],
        }
        if self.kind:
            data["kind"] = self.kind
        if self.answer:
            data["answer"] = self.answer
        if self.proposal is not None:
            data["proposal"] = self.proposal.slots_json()
        return data

    def slots_json(self) -> dict[str, Any]:
        """Just enough to act on it later: kept in progress while the bot waits for a 是/不是."""
        data = {"intent": self.intent, "step": self.step, "items": list(self.items), "kind": self.kind}
        if self.uncheck:
            data["uncheck"] = list(self.uncheck)
        return data

    @classmethod
    def from_slots(cls, data: dict[str, Any], source: str = "pending") -> Reading:
        intent = data.get("intent")
        return cls(
            intent=intent if intent in INTENTS else "clarify",
            step=data.get("step") if isinstance(data.get("step"), int) else None,
            items=tuple(i for i in data.get("items") or () if isinstance(i, int)),
            uncheck=tuple(i for i in data.get("uncheck") or () if isinstance(i, int)),
            kind=data.get("kind") if isinstance(data.get("kind"), str) else None,
            source=source,
        )
