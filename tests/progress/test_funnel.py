"""The funnel stays consistent: no step is done while an earlier one is open (unless the user said the
earlier ones were done elsewhere), and each step's completion is recorded once.

A Hypothesis property drives random sequences of readings through the real handlers (the same
dispatch the pipeline runs, with the pipeline's handling of pending questions); three conversations
from issue 21 go through the signed app callback.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.guide import Guide
from bot.core.keys import EVENTS_STREAM
from bot.core.messages import Incoming
from bot.core.progress import FINISHED, Progress
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
