"""(text, context) -> Reading: pending questions first, then rules for what needs no model, then the
model, the slots and the context policy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from bot.understand import policy
from bot.understand.examples import IntentSpec, training_pairs
from bot.understand.lexicon import ContextWords, contains_any, squash
from bot.understand.model import IntentModel
from bot.understand.reading import Context, Reading
from bot.understand.slots import find_items, find_step, mentions_items, number

MAX_COMMAND_CHARS = 60  # longer messages are questions or pasted logs, never commands
_ERROR_CODE = re.compile(r"(?<!\d)(?:4\d{4}|6\d{4}|8\d{4}|-1)(?!\d)")
_DIGIT = re.compile(r"^\s*(\d{1,2})\s*$")
_BARE_NUMBER = re.compile(r"^\s*(\d{1,2}|[一二两三四五六七八九十])\s*$")
_QUOTE_SEPARATOR = "- - -"  # a WeCom quote: the quoted text, this line, then what the user wrote
# The bot's own prompt typed back: "回复是", "回复「完成」" mean "是", "完成".
_ECHOED_PROMPT = re.compile(r"^(?:回复|reply)\s*[「“\"']?(?P<said>[^」”\"']{1,12})[」”\"']?$", re.IGNORECASE)
# Replies to "解决了吗？1 已解决 / 2 还不行".
FEEDBACK_YES = {"1": "confirm", "一": "confirm"}
FEEDBACK_NO = {"2": "cancel", "二": "cancel"}
CONFIRMING = ("confirm_reading", "confirm_reset")


class Knowledge(Protocol):
    """What understanding needs of the knowledge base (bot.faq.KnowledgeBase)."""

    topics: dict[str, Any]

    def search(self, text: str, step: int | None = None) -> Any: ...


def question_phrasings(knowledge: Knowledge | None) -> list[str]:
    """How users ask about each topic: the knowledge base teaches the model what a question looks like."""
    if knowledge is None:
        return []
    out: list[str] = []
    for topic in knowledge.topics.values():
        out.append(topic.title_zh)
        out.extend(topic.phrasings)
    return out


class Understander:
    """Reads messages for one process; build it once (training takes about a second)."""

    def __init__(self, specs: Sequence[IntentSpec], words: ContextWords, knowledge: Knowledge | None,
                 taught: Sequence[tuple[str, str]] = ()) -> None:
        self.words = words
        self.knowledge = knowledge
        self.taught = {squash(text): label for text, label in taught}
        self.answers = {spec.name: spec.answer for spec in specs if spec.answer}  # commands answered from data
        names = [name for name, _ in words.step_names if not name.isascii()]
        self.model = IntentModel(training_pairs(specs, question_phrasings(knowledge),
                                                [(t, lbl) for t, lbl in taught if not lbl.startswith("topic:")],
                                                step_names=names))

    # ------------------------------------------------------------------ entry points
    def read(self, text: str, ctx: Context) -> Reading:
        text = self.words.without_fillers(_own_words(text))
        echoed = _ECHOED_PROMPT.match(text)
        if echoed:
            text = echoed["said"]
        squashed = squash(text)
        if not squashed:
            return policy.clarify("empty")
        pending = self._pending(text, squashed, ctx)
        if pending is not None:
            return pending
        if len(text) > MAX_COMMAND_CHARS or "\n" in text.strip() or _ERROR_CODE.search(text):
            return self.question(text, ctx)
        digit = _BARE_NUMBER.match(text)
        if digit and ctx.item_count:
            # a bare "3" (or "三") answers nothing the bot asked: perhaps an item, but ask before ticking it
            guess = Reading("check", 0.5, items=(number(digit[1]),))
            return policy.clarify("unsure", proposal=guess, confidence=0.5)
        ranked = self._ranked(squashed, text)
        label, confidence = ranked[0]
        margin = confidence - (ranked[1][1] if len(ranked) > 1 else 0.0)
        alternatives = tuple(ranked[1:])
        intent, _, kind = label.partition(":")
        if intent == "question" or (intent in policy.STATE_CHANGING and self._asks(text, squashed, ranked)):
            return self.question(text, ctx, confidence if intent == "question" else 1 - confidence)
        if confidence < policy.NOT_UNDERSTOOD:
            if self.words.looks_like_question(squashed):
                return self.question(text, ctx, confidence)
            found = self._search(text, ctx)
            if found is not None and found.confident:
                return self.question(text, ctx, found=found)
            return policy.clarify("unknown", confidence=confidence, alternatives=alternatives)
        if label in self.answers:
            if confidence < policy.ACT or margin < policy.MARGIN:  # not sure: the knowledge base may know better
                return self.question(text, ctx, confidence)
            return Reading(label, confidence, answer=self.answers[label], alternatives=alternatives,
                           source="taught" if squashed in self.taught else "model")
        if intent in ("confirm", "cancel"):
            # 是 / 嗯 / 不是 with nothing asked: an acknowledgement, nothing to act on
            return Reading("smalltalk", confidence, kind="ack", alternatives=alternatives)
        step, rest = find_step(text, self.words)
        if intent in ("done", "next") and mentions_items(rest):
            intent = "check"  # "第一项弄好了": an item, not the whole step
        reading = Reading(intent, confidence, step=step if intent in ("goto", "done", "next") else None,
                          items=find_items(rest, ctx.item_count) if intent in ("check", "uncheck") else (),
                          kind=kind or None, alternatives=alternatives,
                          source="taught" if squashed in self.taught else "model")
        if reading.source == "taught":
            return policy.resolve(reading, ctx, squashed, self.words)
        return policy.gate(policy.resolve(reading, ctx, squashed, self.words), margin)

    def question(self, text: str, ctx: Context, confidence: float = 1.0, found: Any = None) -> Reading:
        """A troubleshooting question: the knowledge base's best topic (or none, when it is unsure)."""
        found = found if found is not None else self._search(text, ctx)
        if found is None:
            return Reading("question", confidence)
        topic = found.topic.id if found.confident and found.topic is not None else None
        alternatives = tuple((t.id, None) for t in found.alternatives)  # other topics; the search gives no score
        return Reading("question", float(found.score), topic=topic, alternatives=alternatives, search=found)

    # ------------------------------------------------------------------ parts
    def _ranked(self, squashed: str, text: str) -> list[tuple[str, float]]:
        taught = self.taught.get(squashed)
        if taught is not None and not taught.startswith("topic:"):
            return [(taught, 1.0)]
        # Labels that do the same thing (next, done) count as one, named after the likelier.
        merged: dict[str, float] = {}
        name: dict[str, str] = {}
        for label, score in self.model.rank(text, top=4):
            group = policy.SAME_EFFECT.get(label, label)
            merged[group] = merged.get(group, 0.0) + score
            name.setdefault(group, label)
        return sorted(((name[g], score) for g, score in merged.items()), key=lambda item: -item[1])

    def _asks(self, text: str, squashed: str, ranked: list[tuple[str, float]]) -> bool:
        """A command word inside a question ("下一步是干嘛的") is a question — unless the model is sure it is
        a polite request ("能不能先回到上一步？") and sees nothing of a question in it."""
        if not self.words.looks_like_question(squashed):
            return False
        question = dict(ranked).get("question", 0.0)
        polite = self.words.requests(text) and ranked[0][1] >= policy.POLITE_REQUEST
        return not (polite and question < policy.QUESTION_DOUBT)

    def _search(self, text: str, ctx: Context) -> Any:
        if self.knowledge is None:
            return None
        taught = self.taught.get(squash(text))
        if taught and taught.startswith("topic:") and taught[6:] in self.knowledge.topics:
            from bot.faq.search import SearchResult

            topic = self.knowledge.topics[taught[6:]]
            return SearchResult(topic=topic, score=1.0, confident=True, best_guess=topic)
        step = ctx.step if 0 < ctx.step < 7 else None
        return self.knowledge.search(text, step=step)

    def _pending(self, text: str, squashed: str, ctx: Context) -> Reading | None:
        """A reply to what the bot just asked; None when the message is about something else."""
        pending = ctx.pending
        if pending is None:
            return None
        if pending == "faq_choice":
            digit = _DIGIT.match(text)
            return Reading("question", 1.0, items=(int(digit[1]),), kind="choice", source="pending") if digit else None
        if pending == "faq_feedback":
            words = self.words
            if squashed in FEEDBACK_NO or contains_any(text, words.feedback_no):
                return Reading("cancel", 1.0, kind="feedback", source="pending")
            if squashed in FEEDBACK_YES or contains_any(text, words.feedback_yes):
                return Reading("confirm", 1.0, kind="feedback", source="pending")
        elif pending not in CONFIRMING:
            return None
        elif self.words.negates(text):
            return Reading("cancel", 1.0, source="pending")
        label, confidence = self._ranked(squashed, text)[0]
        if confidence < policy.NOT_UNDERSTOOD:
            return None
        proposal = ctx.proposal or {}
        if pending == "confirm_reading" and proposal and label == proposal.get("asked_by"):
            return Reading.from_slots(proposal, source="pending")  # asked once; saying it again means yes
        kind = "feedback" if pending == "faq_feedback" else None
        if label in ("confirm", "smalltalk:ack") or (label == "smalltalk:thanks" and pending == "faq_feedback"):
            if pending == "confirm_reading" and ctx.proposal:
                return Reading.from_slots(ctx.proposal, source="pending")
            return Reading("confirm", confidence, kind=kind, source="pending")
        if label == "cancel" or (label == "uncheck" and not find_items(text, ctx.item_count)):
            return Reading("cancel", confidence, kind=kind, source="pending")
        if pending == "confirm_reset" and label == "reset":
            return Reading("confirm", confidence, source="pending")
        return None


def _own_words(text: str) -> str:
    """What the user wrote: a quoted message's quote is context, not the reply."""
    if _QUOTE_SEPARATOR in text:
        text = text.rsplit(_QUOTE_SEPARATOR, 1)[1]
    return text.strip()
