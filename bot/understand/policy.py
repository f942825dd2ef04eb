"""Context decides what a reading means, and an uncertain change of state is asked about first.

A wrong state change is worse than a question: "通过了" on step 1 is the Open Platform's review, on
step 3 (or once credentials were submitted) WeDa's certification; "提交了" on step 6 is the full
release; "失败了" after step 3 is not the certification. Readings that would change progress on
weak evidence become ``clarify`` with the guess as ``proposal`` ("你是说…吗？回复「是」或「不是」").
"""

from __future__ import annotations

from dataclasses import replace

from bot.understand.lexicon import ContextWords
from bot.understand.reading import (
    CERT_PASSED,
    CERT_SUBMITTED,
    STATE_CHANGING,
    Context,
    Reading,
)

CERT_STEP = 3
LAST_STEP = 6
# A state-changing reading acts when the model gives it at least ACT and leads the runner-up by
# MARGIN (Rasa's FallbackClassifier uses the same two numbers); between NOT_UNDERSTOOD and that,
# the bot asks; below NOT_UNDERSTOOD it says what it can do.
ACT = 0.45
MARGIN = 0.15
NOT_UNDERSTOOD = 0.3
# A command with question words is still a command when the model gives it this much and the
# question label less than QUESTION_DOUBT ("麻烦先暂停提醒，可以吗？").
POLITE_REQUEST = 0.6
QUESTION_DOUBT = 0.1
# Labels that do the same thing: their probabilities are added before deciding.
SAME_EFFECT = {"next": "done", "done": "done"}


def clarify(kind: str, proposal: Reading | None = None, confidence: float = 0.0,
            alternatives: tuple[tuple[str, float | None], ...] = (), asked_by: str | None = None) -> Reading:
    return Reading("clarify", confidence=confidence, kind=kind, proposal=proposal, alternatives=alternatives,
                   asked_by=asked_by, source="rule")


def resolve(reading: Reading, ctx: Context, squashed: str, words: ContextWords) -> Reading:
    """The reading as it applies to this user right now."""
    resolved = _resolve(reading, ctx, squashed, words)
    if resolved.intent == "clarify" and resolved.asked_by is None:  # "" means: repeating is no answer
        return replace(resolved, asked_by=reading.intent)
    return resolved


def _resolve(reading: Reading, ctx: Context, squashed: str, words: ContextWords) -> Reading:
    intent = reading.intent
    if intent in ("cert_passed", "cert_failed", "cert_submitted"):
        return _certification(reading, ctx, squashed, words)
    if intent in ("done", "next"):
        return _done(reading, ctx)
    if intent == "reset" and ctx.step == 0:
        return replace(reading, intent="start")  # "上次重置完一直没管 今天重新来": nothing to reset, so start
    if intent == "goto" and reading.step is None:
        return clarify("which_step", confidence=reading.confidence)
    if intent in ("check", "uncheck") and not reading.items:
        return clarify("which_item", confidence=reading.confidence)
    if intent in ("check", "uncheck") and not all(1 <= n <= ctx.item_count for n in reading.items):
        # "4 5 6" on a step of three items, "2 好了" before starting: not items of this checklist
        return clarify("bad_item" if ctx.item_count else "unsure", confidence=reading.confidence)
    return reading


def gate(reading: Reading, margin: float) -> Reading:
    """An uncertain change of state becomes a question to the user."""
    if reading.intent in STATE_CHANGING and reading.source == "model" and (
            reading.confidence < ACT or margin < MARGIN):
        return clarify("unsure", proposal=reading, confidence=reading.confidence,
                       alternatives=reading.alternatives, asked_by=reading.intent)
    return reading


def _done(reading: Reading, ctx: Context) -> Reading:
    step = reading.step
    if ctx.step == 0:
        return replace(reading, intent="start", step=None)
    if ctx.step > LAST_STEP:
        return replace(reading, intent="done", step=None)
    if step is not None and step != ctx.step:
        if step < ctx.step:
            return Reading("status", reading.confidence, step=step, kind="already_done", source=reading.source)
        # "第4步完成了" while on step 2: the user did steps on their own; confirm before ticking them off.
        return clarify("skip_ahead", proposal=replace(reading, intent="done"), confidence=reading.confidence)
    if ctx.step == CERT_STEP and reading.intent == "done":
        # Step 3 ends with WeDa's certification: "好了" before submitting means the submission (asked
        # first); once submitted it changes nothing (the handler says the result is pending) — a result
        # is only taken from words that say it.
        if ctx.cert == CERT_SUBMITTED:
            # asked each time: saying "好了" twice must not turn into a passed certification
            return clarify("cert_result", proposal=Reading("cert_passed", reading.confidence),
                           confidence=reading.confidence, asked_by="")
        if ctx.cert != CERT_PASSED:
            return clarify("cert_submit", proposal=Reading("cert_submitted", reading.confidence),
                           confidence=reading.confidence)
    return replace(reading, step=None)


def _certification(reading: Reading, ctx: Context, squashed: str, words: ContextWords) -> Reading:
    intent, step = reading.intent, ctx.step
    explicit = words.mentions_cert(squashed)
    on_cert = step == CERT_STEP or ctx.cert == CERT_SUBMITTED
    if intent == "cert_failed":
        if on_cert:
            return reading
        if step > CERT_STEP and not explicit:
            # "失败了" on step 5 or 6 is the test or the release check: a problem to look up, not a step
            return Reading("question", reading.confidence, kind="what_failed", source=reading.source)
        return clarify("what_failed", confidence=reading.confidence)
    if intent == "cert_passed":
        if on_cert:
            return reading
        if step > CERT_STEP and ctx.cert == CERT_PASSED and explicit:
            # already certified: nothing to change; say where they are
            return Reading("status", reading.confidence, kind="cert_already_done", source=reading.source)
        if step > CERT_STEP or (not explicit and step in (1, 2)):
            # "通过了" on step 1 is the platform review; on 5/6 the test or the release check
            done = Reading("done", reading.confidence, source=reading.source)
            return done if step > CERT_STEP else clarify("review_passed", proposal=done,
                                                         confidence=reading.confidence)
        if explicit:  # certification claimed before step 3: the steps before it were done elsewhere
            return clarify("skip_to_cert", proposal=reading, confidence=reading.confidence)
        return clarify("unsure", confidence=reading.confidence)
    # cert_submitted
    if on_cert or (explicit and step > CERT_STEP):
        return reading  # the handler submits, says it is pending, or says it is already done
    if not explicit and step > CERT_STEP:
        # "提交了" on step 4 is the upload key, on step 6 the full release
        return Reading("done", reading.confidence, source=reading.source)
    if step in (1, 2):
        if explicit:
            return clarify("skip_to_cert", proposal=reading, confidence=reading.confidence)
        return clarify("submitted_what", proposal=Reading("done", reading.confidence), confidence=reading.confidence)
    if step == 0 and explicit:
        return clarify("skip_to_cert", proposal=reading, confidence=reading.confidence)
    return clarify("unsure", confidence=reading.confidence)
