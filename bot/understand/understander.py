"""(text, context) -> Reading: pending questions first, then rules for what needs no model, then the
model, the slots and the context policy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from bot.understand import policy, stance
from bot.understand.examples import IntentSpec, training_pairs
from bot.understand.items import ItemNames, all_but, correction, named_items
from bot.understand.lexicon import ContextWords, contains_any, squash
from bot.understand.model import IntentModel
from bot.understand.reading import Context, Reading
from bot.understand.slots import find_items, find_step, mentions_items, mentions_step, number

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
# Labels a reply to "解决了吗？" may carry and still be an answer to it.
_FEEDBACK_LABELS = {"confirm", "cancel", "done", "smalltalk:ack", "smalltalk:thanks", "question", "human"}
_PUNCTUATION = re.compile(r"[\s,，.。!！?？~～、…]+")


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
                 taught: Sequence[tuple[str, str]] = (), item_names: ItemNames | None = None) -> None:
        self.words = words
        self.item_names: ItemNames = item_names or {}
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
        kind = self.words.cues.stance(text)
        by_rule = self._items_by_rule(text, squashed, ctx, kind)
        if by_rule is not None:
            return by_rule
        digit = _BARE_NUMBER.match(text)
        if digit and ctx.item_count:
            # a bare "3" (or "三") answers nothing the bot asked: perhaps an item, but ask before ticking it
            guess = Reading("check", 0.5, items=(number(digit[1]),))
            return policy.clarify("unsure", proposal=guess, confidence=0.5)
        ranked = self._ranked(squashed, text)
        label, confidence = ranked[0]
        margin = confidence - (ranked[1][1] if len(ranked) > 1 else 0.0)
        alternatives = tuple(ranked[1:])
        intent, _, sub = label.partition(":")
        if stance.Cues.blocks(kind, intent) or (intent == "uncheck" and kind == stance.NEGATION
                                                and not find_items(text, ctx.item_count)):
            return self._not_affirmative(text, ctx, kind, confidence, alternatives)
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
                          kind=sub or None, alternatives=alternatives,
                          source="taught" if squashed in self.taught else "model")
        if intent == "goto" and step is not None and self.words.cues.elsewhere(text):
            # "第一步的东西我之前都弄完了，直接跳到第二步": the steps before were done outside the bot
            reading = replace(reading, kind="done_before")
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
    def _not_affirmative(self, text: str, ctx: Context, kind: str, confidence: float,
                         alternatives: tuple[tuple[str, float | None], ...]) -> Reading:
        """A command named in a negation, a plan or a problem report: nothing changes. A problem goes to
        the knowledge base; "还没弄好" and "晚点再提交" get one line and leave progress as it is."""
        if kind == stance.PROBLEM or self.words.looks_like_question(squash(text)):
            return self.question(text, ctx, confidence)
        return Reading("smalltalk", confidence, kind="not_yet" if kind == stance.NEGATION else "later",
                       alternatives=alternatives, source="rule")

    def _items_by_rule(self, text: str, squashed: str, ctx: Context, kind: str) -> Reading | None:
        """Corrections, "all but" forms and items named by what they are; None when none of these."""
        if not 1 <= ctx.step <= 6:
            return None
        fixed = correction(text)
        if fixed is not None:
            return self._correction(text, ctx, *fixed)
        if kind != stance.AFFIRMATIVE and kind != stance.NEGATION:
            return None
        if ctx.item_count:
            rest = all_but(text, ctx.item_count, self.item_names, ctx.step)
            if rest:
                return policy.resolve(Reading("check", 0.9, items=rest, kind="all_but", source="rule"), ctx,
                                      squashed, self.words)
        if kind != stance.AFFIRMATIVE or mentions_step(text) or mentions_items(text):
            return None
        if find_step(text, self.words)[0] is not None:
            return None  # "全网发布提交了", "测试没问题…": the step by its name, not one of its items
        named = named_items(squashed, ctx.step, self.item_names)
        if not named or not self.words.cues.completed(text):
            return None
        if ctx.item_count in named:
            # the step's last action ("审核过了，拿到AppId了"): the step, whose open items the handler asks about
            return policy.gate(policy.resolve(Reading("done", 0.9, kind="named_item", source="model"), ctx,
                                              squashed, self.words), 1.0)
        return policy.resolve(Reading("check", 0.9, items=named, kind="named_item", source="rule"), ctx,
                              squashed, self.words)

    def _correction(self, text: str, ctx: Context, meant: str, said: str) -> Reading | None:
        """"不是第三步，是第二步" goes to step 2; "勾错了，应该是3不是2" unticks 2 and ticks 3."""
        meant_step, _ = find_step(meant, self.words)
        said_step, _ = find_step(said, self.words)
        if meant_step is not None and (said_step is not None or "步" in text):
            return Reading("goto", 0.9, step=meant_step, kind="correction", source="rule")
        if not ctx.item_count:
            return None
        meant_items = find_items(meant, ctx.item_count) or named_items(squash(meant), ctx.step, self.item_names)
        said_items = find_items(said, ctx.item_count) or named_items(squash(said), ctx.step, self.item_names)
        if not meant_items or not said_items:
            return None
        if not all(1 <= n <= ctx.item_count for n in (*meant_items, *said_items)):
            return policy.clarify("bad_item", confidence=0.9)
        return Reading("check", 0.9, items=meant_items, uncheck=tuple(n for n in said_items if n not in meant_items),
                       kind="correction", source="rule")

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

    def _something_else(self, text: str, squashed: str, ctx: Context) -> bool:
        """After "解决了吗？": the message is a report or command of its own, not an answer to it. A bare
        feedback word ("好了", "还不行", "1") always answers it."""
        bare = _PUNCTUATION.sub("", squashed)
        if len(bare) <= 4 or bare in FEEDBACK_NO or bare in FEEDBACK_YES:
            return False
        if self._items_by_rule(text, squashed, ctx, self.words.cues.stance(text)) is not None:
            return True
        if mentions_step(text) or mentions_items(text):
            return True
        label, confidence = self._ranked(squashed, text)[0]
        return label not in _FEEDBACK_LABELS and confidence >= policy.ACT

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
            if self._something_else(text, squashed, ctx):
                return None  # "开放平台账号注册好了" after "解决了吗？" is a report, read as itself
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
