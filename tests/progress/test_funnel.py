"""The funnel stays consistent: no step is done while an earlier one is open (unless the user said the
earlier ones were done elsewhere), and each step's completion is recorded once.

A Hypothesis property drives random sequences of readings through the real handlers (the same
dispatch the pipeline runs, with the pipeline's handling of pending questions); three conversations
from issue 21 go through the signed app callback. The reducer that applies every change
(bot.core.progress_reducer) is driven directly too, with random sequences of changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.guide import Guide
from bot.core.keys import EVENTS_STREAM
from bot.core.messages import Incoming
from bot.core.progress import FINISHED, Progress
from bot.core.progress_reducer import (
    Activity,
    Asked,
    CertFailed,
    CertPassed,
    CertSubmitted,
    Finished,
    FunnelBroken,
    ItemsChecked,
    ItemsUnchecked,
    MovedOn,
    MovedTo,
    Muted,
    QuestionLapsed,
    Reset,
    Started,
    StepCompleted,
    apply,
)
from bot.core.store import Store, decode_event
from bot.understand import Reading
from bot.understand.factory import GUIDE_FILE
from handlers.context import HandlerContext
from handlers.registry import dispatch
from tests.support.phrases import CERTIFICATION_PASSED, STEP_1_DONE_EARLIER_SKIP_TO_STEP_2

GUIDE = Guide.load(GUIDE_FILE)


@dataclass
class _Services:
    """What handlers need (handlers.context.HandlerServices): the real guide, nothing else reachable."""

    guide: Guide = GUIDE
    knowledge: Any = None
    support_staff: tuple[str, ...] = ()
    handoff_timeout: float = 600.0
    cert_check: Any = None
    can_message_privately: bool = False


_STEP = st.integers(min_value=1, max_value=6)
_ITEMS = st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=3).map(lambda xs: tuple(sorted(set(xs))))
READINGS = st.one_of(
    st.builds(lambda n: Reading("goto", step=n), _STEP),
    st.builds(lambda n: Reading("goto", step=n, kind="done_before"), _STEP),
    st.just(Reading("back")),
    st.just(Reading("done")),
    st.just(Reading("next")),
    st.just(Reading("start")),
    st.builds(lambda n: Reading("done", step=n, source="pending"), _STEP),  # a confirmed "第4步完成了"
    st.just(Reading("cert_submitted")),
    st.just(Reading("cert_passed")),
    st.just(Reading("cert_failed")),
    st.just(Reading("reset")),
    st.builds(lambda items: Reading("check", items=items), _ITEMS),
    st.builds(lambda items: Reading("uncheck", items=items), _ITEMS),
    st.builds(lambda a, b: Reading("check", items=a, uncheck=b, kind="correction"), _ITEMS, _ITEMS),
    st.just(Reading("confirm")),
    st.just(Reading("cancel")),
)


def _run(readings: list[Reading]) -> tuple[Progress, list[list[Any]]]:
    """Apply readings as the pipeline does; returns progress and the events of each registration
    (a reset starts a new one)."""
    progress = Progress.new("c", "u", 0.0)
    registrations: list[list[Any]] = [[]]
    for number, reading in enumerate(readings):
        pending = progress.pending
        if reading.intent == "confirm" and pending == "confirm_reading" and progress.proposal:
            reading = Reading.from_slots(progress.proposal, source="pending")  # what bot.understand does
        progress.pending = None
        progress.proposal = None
        ctx = HandlerContext(Incoming("sim", "c", "u", f"m{number}", text="x"), reading, progress, float(number),
                             _Services(), pending=pending)
        result = dispatch(ctx)
        for event in result.events:
            if event.kind == "reset":
                registrations.append([])
            else:
                registrations[-1].append(event)
        _check_invariant(progress)
    return progress, registrations


def _check_invariant(progress: Progress) -> None:
    done = set(progress.completed)
    for step in done:
        assert set(range(1, step)) <= done, f"step {step} done with an earlier one open: {sorted(done)}"
    if progress.step == FINISHED:
        assert done == set(range(1, 7))


@settings(max_examples=300, deadline=None)
@given(st.lists(READINGS, max_size=30))
def test_no_step_is_done_while_an_earlier_one_is_open_and_each_completion_is_recorded_once(readings):
    progress, registrations = _run(readings)
    for events in registrations:
        completed = Counter(e.data["step"] for e in events if e.kind == "step_completed")
        assert all(count == 1 for count in completed.values()), completed
    last = registrations[-1]
    recorded = {e.data["step"] for e in last if e.kind == "step_completed"}
    assert recorded == set(progress.completed)  # what the funnel counted is what progress shows


def test_back_then_next_does_not_record_a_completion_twice():
    _, registrations = _run([Reading("start"), Reading("check", items=(1, 2, 3, 4, 5, 6)), Reading("done"),
                             Reading("back"), Reading("next")])
    completed = [e.data["step"] for e in registrations[-1] if e.kind == "step_completed"]
    assert completed == [1]


# -- the three conversations of issue 21, through the signed app callback ------------------------------
def _progress(redis_client, settings, user: str) -> Progress:
    return Store(redis_client).load(f"{settings.corp_id}:{user}")


def _completions(redis_client, user: str) -> list[dict[str, Any]]:
    out = []
    for _id, fields in redis_client.xrange(EVENTS_STREAM):
        who, event = decode_event(fields["event"])
        if event.kind == "step_completed" and who.endswith(f":{user}"):
            out.append(event.data)
    return out


def test_earlier_steps_done_elsewhere_are_marked_and_the_funnel_says_so(say, redis_client, settings):
    say("开始", user="ivy")
    reply = say(STEP_1_DONE_EARLIER_SKIP_TO_STEP_2, user="ivy")
    assert "✅ 第1步" in say("进度", user="ivy") and "第2步" in reply
    progress = _progress(redis_client, settings, "ivy")
    assert progress.step == 2 and progress.completed == [1]
    assert _completions(redis_client, "ivy") == [{"step": 1, "caught_up": True}]


def test_a_jump_to_step_3_then_certification_passed_asks_about_steps_1_and_2(say, redis_client, settings):
    say("开始", user="jay")
    say("第3步", user="jay")
    asked = say(CERTIFICATION_PASSED, user="jay")
    assert "第1、2步还没标完成" in asked
    progress = _progress(redis_client, settings, "jay")
    assert progress.completed == [] and progress.cert.state != "passed"  # nothing recorded on a question
    say("是", user="jay")
    progress = _progress(redis_client, settings, "jay")
    assert progress.completed == [1, 2, 3] and progress.step == 4 and progress.cert.state == "passed"
    assert [c["step"] for c in _completions(redis_client, "jay")] == [1, 2, 3]


def test_goto_5_back_and_done_does_not_complete_step_4_over_open_steps(say, redis_client, settings):
    say("开始", user="kim")
    say("第⑤步", user="kim")
    say("上一步", user="kim")
    asked = say("搞定啦", user="kim")
    assert "第1、2、3步还没标完成" in asked
    progress = _progress(redis_client, settings, "kim")
    assert progress.step == 4 and progress.completed == [] and progress.cert.state == "none"
    say("不是", user="kim")
    assert _progress(redis_client, settings, "kim").completed == []


# -- the reducer itself, driven directly --------------------------------------------------------------
_ITEM_COUNTS = {step.number: len(step.items) for step in GUIDE.steps}
CHANGES = st.one_of(
    st.builds(Started, _STEP),
    st.builds(MovedTo, _STEP),
    st.builds(MovedOn, _STEP),
    st.just(Finished()),
    st.builds(lambda n, caught_up: StepCompleted(n, _ITEM_COUNTS[n], caught_up), _STEP, st.booleans()),
    st.builds(lambda n, items: ItemsChecked(n, items), _STEP, _ITEMS),
    st.builds(lambda n, items, corrected: ItemsUnchecked(n, items, corrected), _STEP, _ITEMS, _ITEMS),
    st.sampled_from([Reset(), CertSubmitted(), CertPassed(), CertFailed(), QuestionLapsed(), Activity()]),
    st.builds(Muted, st.booleans()),
    st.builds(Asked, st.sampled_from(["confirm_reset", "confirm_reading", "faq_feedback"])),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(CHANGES, max_size=40))
def test_the_reducer_keeps_the_funnel_and_records_each_change_with_it(changes):
    """Any sequence of changes, one message each: a change that would open a gap in the funnel is refused
    (FunnelBroken, the progress given unchanged); otherwise the records say exactly what changed."""
    progress = Progress.new("c", "u", 0.0)
    recorded: set[int] = set()  # completions recorded since the last reset
    for number, change in enumerate(changes):
        before = progress.to_json()
        try:
            progress_after, records = apply(progress, [change], now=float(number))
        except FunnelBroken:
            assert progress.to_json() == before
            done = set(progress.completed)
            if isinstance(change, StepCompleted):
                assert not set(range(1, change.step)) <= done
            else:
                assert isinstance(change, Finished) and done != set(range(1, 7))
            continue
        assert progress.to_json() == before  # apply works on a copy
        completions = [r.data["step"] for r in records if r.kind == "step_completed"]
        if isinstance(change, Reset):
            recorded = set()
        assert not recorded & set(completions), "a completion recorded twice"
        recorded |= set(completions)
        assert recorded == set(progress_after.completed)
        timeline = [r.kind for r in records if r.kind != "activity"]  # every other record is on the timeline
        assert [h["kind"] for h in progress_after.history[len(progress_after.history) - len(timeline):]] == timeline
        _check_invariant(progress_after)
        progress = progress_after


@settings(max_examples=100, deadline=None)
@given(st.lists(CHANGES, max_size=20))
def test_a_batch_of_changes_is_the_same_as_one_change_at_a_time(changes):
    """What a handler returns is applied in one call; a preview (HandlerContext.after) of a part of it
    must agree with the whole."""
    one_by_one, all_records = Progress.new("c", "u", 0.0), []
    try:
        for change in changes:
            one_by_one, records = apply(one_by_one, [change], now=5.0)
            all_records += records
    except FunnelBroken:
        with pytest.raises(FunnelBroken):
            apply(Progress.new("c", "u", 0.0), changes, now=5.0)
        return
    batch, records = apply(Progress.new("c", "u", 0.0), changes, now=5.0)
    assert batch.to_json() == one_by_one.to_json() and records == all_records


@settings(max_examples=200, deadline=None)
@given(st.lists(READINGS, max_size=30))
def test_after_each_message_progress_is_exactly_the_reducers_application_of_the_handlers_changes(readings):
    """Handlers change nothing themselves: what the dispatch leaves is apply(progress before, changes),
    and the records it returns are the ones those changes make."""
    progress = Progress.new("c", "u", 0.0)
    for number, reading in enumerate(readings):
        pending = progress.pending
        if reading.intent == "confirm" and pending == "confirm_reading" and progress.proposal:
            reading = Reading.from_slots(progress.proposal, source="pending")
        progress = apply(progress, [QuestionLapsed()], now=float(number)).progress
        before = progress.to_json()
        ctx = HandlerContext(Incoming("sim", "c", "u", f"m{number}", text="x"), reading, progress, float(number),
                             _Services(), pending=pending)
        result = dispatch(ctx)
        expected, records = apply(Progress.from_json(before), result.changes, now=float(number))
        assert progress.to_json() == expected.to_json()
        assert result.events == records
