"""One user's registration progress: the record Redis keeps, handlers read and bot.core.progress_reducer changes.

Stored as one JSON document per user so a read-modify-write under the user's lock is a single GET
and a single SET. Unknown fields are ignored and missing ones defaulted, so the schema can grow
without a migration.

The methods below replace a list or dict rather than change it in place, so a shallow :meth:`Progress.copy`
is a state of its own: the reducer changes a copy and a handler's preview never touches what it read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from bot.core.keys import key_parts

STEP_COUNT = 6
NOT_STARTED = 0
FINISHED = STEP_COUNT + 1
CERT_STEP = 3  # the step whose end is WeDa's provider certification (about 10 minutes)
HISTORY_LIMIT = 30
GROUPS_KEPT = 5  # groups a user wrote in, remembered for notices about them

CERT_NONE = "none"
CERT_PENDING = "pending"
CERT_PASSED = "passed"
CERT_FAILED = "failed"


@dataclass
class Certification:
    state: str = CERT_NONE
    since: float | None = None  # when the current state began
    attempts: int = 0  # how many times credentials were submitted


@dataclass
class Progress:
    corp_id: str
    user_id: str
    step: int = NOT_STARTED
    completed: list[int] = field(default_factory=list)
    checked: dict[str, list[int]] = field(default_factory=dict)
    step_started_at: dict[str, float] = field(default_factory=dict)
    cert: Certification = field(default_factory=Certification)
    lang: str = "zh"
    muted: bool = False
    pending: str | None = None  # a question the bot is waiting on: "confirm_reset", "faq_feedback", "confirm_reading"
    proposal: dict[str, Any] | None = None  # the reading a "confirm_reading" question asks about
    open_items_asked: int | None = None  # the step whose open checklist items the bot asked about (asked once)
    faq: dict[str, Any] = field(default_factory=dict)  # last FAQ answer: topic id, tried ids
    last_chat: dict[str, Any] = field(default_factory=dict)  # transport, chat_type, chat_id
    groups: list[dict[str, Any]] = field(default_factory=list)  # groups they wrote in: transport, chat_id (latest last)
    response_url: str | None = None
    response_url_expires: float | None = None
    created_at: float = 0.0
    last_seen: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    last_exchange: dict[str, Any] = field(default_factory=dict)  # bot.core.conversation.exchange of the last message
    handoff: dict[str, Any] = field(default_factory=dict)  # an open hand-off to a person (bot.core.handoffs)

    @property
    def user_key(self) -> str:
        return key_parts(self.corp_id, self.user_id)  # the same key as Incoming.user_key

    @property
    def started(self) -> bool:
        return self.step != NOT_STARTED

    @property
    def finished(self) -> bool:
        return self.step == FINISHED

    def checked_items(self, step: int) -> list[int]:
        return self.checked.get(str(step), [])

    def copy(self) -> Progress:
        """A shallow copy: safe to change through the methods here, which replace containers, never edit them."""
        twin = object.__new__(Progress)
        twin.__dict__.update(self.__dict__)
        return twin

    def move_to(self, step: int, now: float) -> None:
        """Enter ``step``; going to the step one is already on keeps its entry time (time on step)."""
        if step != self.step or str(step) not in self.step_started_at:
            self.step_started_at = {**self.step_started_at, str(step): now}
        self.step = step

    def complete_step(self, step: int) -> None:
        if step not in self.completed:
            self.completed = sorted([*self.completed, step])

    def reset(self, now: float) -> Progress:
        """A fresh registration for the same person: keeps who they are, how to reach them and their
        timeline; forgets steps, checklists and certification."""
        fresh = Progress.new(self.corp_id, self.user_id, now)
        fresh.step_started_at = {str(NOT_STARTED): now}  # back on "not started" from now, not since creation
        for name in ("lang", "muted", "last_chat", "groups", "response_url", "response_url_expires", "created_at",
                     "last_seen", "history"):
            setattr(fresh, name, getattr(self, name))
        return fresh

    def wrote_in_group(self, transport: str, chat_id: str) -> None:
        """Remember a group they wrote in (the only groups a notice about them may go to), latest last."""
        place = {"transport": transport, "chat_id": chat_id}
        self.groups = [*[g for g in self.groups if g != place][-(GROUPS_KEPT - 1):], place]

    def record(self, kind: str, now: float, **data: Any) -> None:
        """Append to the short history support staff see on the user's timeline."""
        self.history = [*self.history, {"at": now, "kind": kind, **data}][-HISTORY_LIMIT:]

    def to_json(self) -> str:
        # vars() rather than asdict(): asdict deep-copies every history entry, on the hot path
        data = {**vars(self), "cert": vars(self.cert)}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Progress:
        data = json.loads(raw)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        cert = values.pop("cert", None) or {}
        cert_known = {f.name for f in fields(Certification)}
        return cls(**values, cert=Certification(**{k: v for k, v in cert.items() if k in cert_known}))

    @classmethod
    def new(cls, corp_id: str, user_id: str, now: float) -> Progress:
        return cls(corp_id=corp_id, user_id=user_id, created_at=now, last_seen=now)
