"""Free-text questions: answer from the knowledge base, or say honestly that we are not sure.

After an answer the bot asks "解决了吗？1 已解决 / 2 还不行"; "还不行" moves to the next best topic
and then to a person. Unsure answers offer the closest topics as numbered choices.
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import Button, Reply, Result
from bot.core.progress_reducer import Asked, Change, FaqRemembered, Note
from bot.faq.official import OfficialCode
from handlers import handoff, views
from handlers.context import HandlerContext

FEEDBACK = "faq_feedback"
CHOICE = "faq_choice"


def handle_question(ctx: HandlerContext) -> Result | None:
    reading = ctx.reading
    text = ctx.incoming.text.strip()
    if reading.intent != "question" or reading.search is None or ctx.incoming.kind != "text":
        return None
    if len(text) < 4 and not any(ch.isalpha() for ch in text):
        return None  # "2", "?", "。": nothing to search for (an error code has 5 digits)
    found = reading.search
    if found.confident and found.topic is not None:
        again = _follow_up(ctx, found)
        if again is not None:
            return again
        return _answer(ctx, found.topic, [t.id for t in found.alternatives], score=found.score)
    if found.official is not None:
        return official_answer(ctx, found.official)
    alternatives = ([found.best_guess] if found.best_guess else []) + list(found.alternatives)
    alternatives = _unique(alternatives)[:3]
    event = Note("faq_unsure", {
        "text": text[:500],
        "best_guess": found.best_guess.id if found.best_guess else None,
        "score": round(found.score, 3),
    })
    if not alternatives:
        return Result(Reply("faq_unknown", _context(ctx)), [event])
    remembered: list[Change] = [Asked(CHOICE), FaqRemembered({"choices": [t.id for t in alternatives], "tried": []})]
    choices = [{"n": i, "title": _title(t, ctx.lang)} for i, t in enumerate(alternatives, 1)]
    return Result(Reply("faq_unsure", _context(ctx, choices=choices), [Button("human")]), [event, *remembered],
                  reading={"kind": "faq_unsure", "topic": event.data["best_guess"], "score": event.data["score"]})


def handle_feedback(ctx: HandlerContext) -> Result | None:
    """Replies to "解决了吗" or to numbered choices; anything else lets the question lapse."""
    pending = ctx.pending
    if pending not in (FEEDBACK, CHOICE):
        return None
    reading = ctx.reading
    knowledge = _knowledge(ctx)
    state: dict[str, Any] = dict(ctx.progress.faq or {})
    if pending == CHOICE and reading.kind == "choice" and reading.items:
        choices = state.get("choices", [])
        index = reading.items[0] - 1
        if 0 <= index < len(choices) and knowledge is not None and choices[index] in knowledge.topics:
            others = [c for i, c in enumerate(choices) if i != index]
            return _answer(ctx, knowledge.topics[choices[index]], others, score=None)
        return None
    if pending == FEEDBACK and reading.intent == "confirm":
        return Result(Reply("faq_resolved", _context(ctx)), [Note("faq_resolved", {"topic": state.get("topic")})])
    if pending == FEEDBACK and reading.intent == "cancel":
        return _next_best(ctx, state)
    return None


def _follow_up(ctx: HandlerContext, found: Any) -> Result | None:
    """A follow-up that finds the topic just answered gets the next useful thing (the next topic not
    yet tried), not the same text again; None when it is about something else."""
    state: dict[str, Any] = dict(ctx.progress.faq or {})
    if state.get("topic") != found.topic.id:
        return None
    knowledge = ctx.services.knowledge
    tried = list(state.get("tried", []))
    candidates = [*state.get("alternatives", []), *(t.id for t in found.alternatives)]
    for topic_id in candidates:
        if topic_id not in tried and knowledge is not None and topic_id in knowledge.topics:
            rest = [t for t in candidates if t != topic_id]
            return _answer(ctx, knowledge.topics[topic_id], rest, score=None, tried=tried, retry=True)
    # nothing else to try: say so and offer a person, rather than the same text again
    return Result(Reply("faq_again", _context(ctx, topic_title=_title(found.topic, ctx.lang)), [Button("human")]),
                  [Note("faq_repeated", {"topic": found.topic.id})])


def _next_best(ctx: HandlerContext, state: dict[str, Any]) -> Result:
    rejected = Note("faq_rejected", {"topic": state.get("topic")})  # lands in the unanswered list
    knowledge = _knowledge(ctx)
    tried = list(state.get("tried", []))
    for topic_id in state.get("alternatives", []):
        if topic_id not in tried and knowledge is not None and topic_id in knowledge.topics:
            rest = [t for t in state.get("alternatives", []) if t != topic_id]
            answer = _answer(ctx, knowledge.topics[topic_id], rest, score=None, tried=tried, retry=True)
            answer.changes.insert(0, rejected)
            return answer
    escalated = Note("faq_escalated", {"topic": state.get("topic"), "tried": tried})
    return handoff.request(ctx, "faq", [rejected, escalated])


def answer_topic(ctx: HandlerContext, topic, alternatives: list[str], *, score: float | None) -> Result:
    """A topic's answer with its "解决了吗" question (also for text read from a screenshot)."""
    return _answer(ctx, topic, alternatives, score=score)


def _answer(ctx: HandlerContext, topic, alternatives: list[str], *, score: float | None,
            tried: list[str] | None = None, retry: bool = False) -> Result:
    tried = [*(tried or []), topic.id]
    lang = ctx.lang
    context = _context(
        ctx,
        topic={
            "id": topic.id,
            "title": _title(topic, lang),
            "answer": topic.answer_en if lang == "en" and topic.answer_en else topic.answer_zh,
            "source": topic.source,
            "step": topic.step,
        },
        retry=retry,
    )
    data = {"topic": topic.id}
    if score is not None:
        data["score"] = round(score, 3)
    return Result(Reply("faq_answer", context, [Button("resolved"), Button("unresolved")]),
                  [Asked(FEEDBACK), FaqRemembered({"topic": topic.id, "alternatives": alternatives, "tried": tried}),
                   Note("faq_answered", data)], reading={"kind": "faq", "topic": topic.id, "score": data.get("score")})


def _knowledge(ctx: HandlerContext) -> Any:
    """The knowledge the process answers from now: the files' topics plus those staff created at run time
    (the understanding's rebuilt base), so a "did you mean" choice can name a staff topic too."""
    understanding = getattr(ctx.services, "understanding", None)
    current = getattr(getattr(understanding, "current", None), "knowledge", None)
    return current if current is not None else ctx.services.knowledge


def official_answer(ctx: HandlerContext, code: OfficialCode) -> Result:
    """A documented WeChat error code no topic covers: its official meaning, what to do, the document."""
    lang = ctx.lang
    view = {"code": code.code, "errmsg": code.errmsg, "meaning": code.meaning(lang), "action": code.action(lang),
            "doc": code.doc, "group": code.group_title(lang), "outside": code.outside_registration}
    return Result(Reply("faq_code", _context(ctx, official=view), [Button("human")]),
                  [Note("faq_code", {"code": code.code})], reading={"kind": "error_code", "topic": None})


def _title(topic, lang: str) -> str:
    return topic.title_en if lang == "en" and topic.title_en else topic.title_zh


def _context(ctx: HandlerContext, **extra: Any) -> dict[str, Any]:
    return views.base(ctx, **extra)


def _unique(topics: list) -> list:
    seen: set[str] = set()
    out = []
    for topic in topics:
        if topic is not None and topic.id not in seen:
            seen.add(topic.id)
            out.append(topic)
    return out
