"""Screenshots: acknowledge at once, then answer from the text the OCR process read in them.

1. An image message (``kind="image"``) gets "收到截图，正在识别…" and an ``image_received`` event; the
   OCR process (bot.ocr.reader) reads the picture out of the request path.
2. What it read comes back as ``kind="ocr"`` through the same pipeline: error codes and errmsg texts
   first, then the words, through the same FAQ decision as typed text (the pipeline never reads it as a
   command). When nothing useful was found, the bot says what it read and asks for the code or text.
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import Button, Reply, Result
from bot.core.progress_reducer import Note
from bot.ocr import RECEIVED
from handlers import faq, views
from handlers.context import HandlerContext

MIN_CONFIDENCE = 0.6  # below this the OCR is unsure of what it read: ask rather than answer
SHOWN_CHARS = 160  # how much of what was read the "unsure" reply quotes


def acknowledge(ctx: HandlerContext) -> Result | None:
    incoming = ctx.incoming
    if incoming.kind != "image":
        return None
    job: dict[str, Any] = {
        "image": incoming.extra.get("image"), "transport": incoming.transport, "corp_id": incoming.corp_id,
        "user_id": incoming.user_id, "msg_id": incoming.msg_id, "chat_type": incoming.chat_type,
        "chat_id": incoming.chat_id, "at": ctx.now, "words": incoming.text[:500], "lang": ctx.lang,
    }
    return Result(Reply("image_received", views.base(ctx)), [Note(RECEIVED, {"_job": job})],
                  reading={"kind": "image"})


def answer(ctx: HandlerContext) -> Result | None:
    incoming = ctx.incoming
    if incoming.kind != "ocr":
        return None
    bad = incoming.extra.get("bad")
    if bad:
        return Result(Reply("image_bad", views.base(ctx, reason=str(bad))), [Note("image_unread", {"reason": bad})],
                      reading={"kind": "image_bad", "reason": bad})
    found = ctx.reading.search
    confidence = float(incoming.extra.get("confidence") or 0.0)
    # In a screenshot the code is the evidence: a documented code no topic covers is answered from its
    # official meaning, even when the words around it come close to a topic (typed questions carry more
    # context, and there a confident topic keeps the answer).
    if found is not None and found.official is not None and not found.error_code:
        return _read_from_image(faq.official_answer(ctx, found.official), found.official.code)
    if found is not None and found.confident and found.topic is not None and (
            found.error_code or confidence >= MIN_CONFIDENCE):
        result = faq.answer_topic(ctx, found.topic, [t.id for t in found.alternatives], score=found.score)
        return _read_from_image(result, found.error_code)
    shown = incoming.text.strip()
    shown = shown[:SHOWN_CHARS] + ("…" if len(shown) > SHOWN_CHARS else "")
    return Result(Reply("image_unsure", views.base(ctx, read=shown), [Button("human")]),
                  [Note("faq_unsure", {"text": incoming.text[:500], "best_guess": None, "score": 0.0,
                                        "image": True})],
                  reading={"kind": "image_unsure", "confidence": round(confidence, 3)})


def _read_from_image(result: Result, code: str | None) -> Result:
    """The answer, headed by what the picture showed ("截图里识别到错误码 61004")."""
    reply = result.reply
    context = {**reply.context, "image_inner": reply.template, "code": code}
    result.reply = Reply("image_read", context, reply.buttons)
    return result
