"""The one reducer (bot.core.progress_reducer): each change and its record come from the same lines, the funnel
invariant is refused at the door, and handlers change no progress themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.progress import CERT_PENDING, FINISHED, HISTORY_LIMIT, Progress
from bot.core.progress_reducer import (
    Activity,
    CertSubmitted,
    Contacted,
    Finished,
    FunnelBroken,
    HandoffOpened,
    HandoffTimedOut,
    ItemsChecked,
    MovedOn,
    MovedTo,
    Note,
    Reset,
    SecretRedacted,
    Started,
    StepCompleted,
    apply,
)
from bot.core.records import Event

ROOT = Path(__file__).resolve().parents[2]


def _on_step(step: int, completed: list[int]) -> Progress:
    progress = Progress.new("c", "u", 0.0)
    progress.move_to(step, 1.0)
    progress.completed = completed
    return progress


def test_a_completion_is_recorded_once_and_ticks_the_whole_checklist():
    progress, records = apply(_on_step(1, []), [StepCompleted(1, 4), MovedOn(2)], now=10.0)
    assert records == [Event("step_completed", {"step": 1})]
    assert progress.completed == [1] and progress.step == 2 and progress.checked_items(1) == [1, 2, 3, 4]
    progress, records = apply(progress, [MovedTo(1), StepCompleted(1, 4), MovedOn(2)], now=20.0)  # 上一步, 下一步
    assert records == [Event("step_changed", {"step": 1})] and progress.completed == [1]
    assert progress.step == 2 and progress.step_started_at == {"1": 20.0, "2": 20.0}


def test_a_step_completed_over_an_open_one_is_refused_and_nothing_changes():
    progress = _on_step(4, [1])
    before = progress.to_json()
    with pytest.raises(FunnelBroken, match=r"\[2, 3\]"):
        apply(progress, [StepCompleted(4, 3)], now=10.0)
    with pytest.raises(FunnelBroken):  # the first change of the batch was fine: still nothing happens
        apply(progress, [StepCompleted(2, 3), StepCompleted(4, 3)], now=10.0)
    assert progress.to_json() == before
    caught_up, records = apply(progress, [StepCompleted(2, 3, caught_up=True), StepCompleted(3, 3, caught_up=True),
                                          StepCompleted(4, 3)], now=10.0)
    assert caught_up.completed == [1, 2, 3, 4]
    assert [r.data for r in records] == [{"step": 2, "caught_up": True}, {"step": 3, "caught_up": True}, {"step": 4}]


def test_only_a_user_with_all_six_steps_done_is_finished():
    with pytest.raises(FunnelBroken):
        apply(_on_step(6, [1, 2, 3, 4, 5]), [Finished()], now=1.0)
    progress, records = apply(_on_step(6, [1, 2, 3, 4, 5]), [StepCompleted(6, 2), Finished()], now=1.0)
    assert progress.step == FINISHED and [r.kind for r in records] == ["step_completed", "all_done"]


def test_a_completion_in_a_group_is_marked_so_planning_sends_no_second_notice():
    _, records = apply(_on_step(1, []), [StepCompleted(1, 4), MovedOn(2), Activity()], now=3.0, in_group=True)
    assert records == [Event("step_completed", {"step": 1, "in_group": True}),
                       Event("activity", {"step": 2, "at": 3.0})]


def test_records_go_on_the_timeline_except_activity_and_without_texts_or_private_fields():
    progress, records = apply(Progress.new("c", "u", 0.0), [
        Started(), Note("faq_unsure", {"text": "我的密钥", "score": 0.2}), Note("image_received", {"_job": {"x": 1}}),
        SecretRedacted(), Activity()], now=7.0)
    assert [r.kind for r in records] == ["started", "faq_unsure", "image_received", "activity"]
    assert records[1].data["text"] == "我的密钥"  # the stream's reader gets it
    assert progress.history == [{"at": 7.0, "kind": "started", "step": 1},
                                {"at": 7.0, "kind": "faq_unsure", "score": 0.2},
                                {"at": 7.0, "kind": "image_received"}, {"at": 7.0, "kind": "secret_redacted"}]
    many, _ = apply(progress, [Note("feedback")] * (HISTORY_LIMIT + 5), now=8.0)
    assert len(many.history) == HISTORY_LIMIT and len(progress.history) == 4


def test_a_note_cannot_record_what_only_a_change_may():
    for kind in ("step_completed", "started", "cert_passed", "reset", "activity", "all_done"):
        with pytest.raises(ValueError):
            Note(kind)


def test_apply_never_changes_the_progress_it_is_given():
    progress = _on_step(3, [1, 2])
    progress.record("entered", 0.5)
    before = progress.to_json()
    changes = [ItemsChecked(3, (1,)), CertSubmitted(), HandoffOpened("asked"), HandoffTimedOut(5),
               Contacted("aibot", "group", "g1", "en", "https://r", 99.0), Reset()]
    after, _ = apply(progress, changes, now=9.0)
    assert progress.to_json() == before
    assert after.step == 0 and after.lang == "en" and after.groups == [{"transport": "aibot", "chat_id": "g1"}]
    assert [h["kind"] for h in after.history] == ["entered", "item_checked", "cert_submitted", "handoff_opened",
                                                  "handoff_timed_out", "reset"]
    submitted, _ = apply(progress, changes[:2], now=9.0)
    assert submitted.cert.state == CERT_PENDING and submitted.checked_items(3) == [1, 2]
    assert progress.cert.state != CERT_PENDING


# -- handlers decide, they change nothing -------------------------------------------------------------
# Ways a handler could change progress directly: assign a field (or a field of one), assign into a
# container, call a container's mutating method, call a Progress method that changes it, or go around.
_DIRECT_CHANGE = re.compile(
    r"progress(\.\w+)+\s*([-+*/|&]?=)(?!=)"
    r"|progress(\.\w+)+\[[^\]]*\]\s*([-+*/|&]?=)(?!=)"
    r"|progress(\.\w+)+\.(append|extend|insert|pop|remove|clear|update|sort|setdefault|popitem)\("
    r"|progress\.(move_to|complete_step|record|wrote_in_group|reset)\("
    r"|del\s+\w*progress\b|__dict__|setattr\(|handoffs\.(open_handoff|close)\("
)


def test_the_pattern_catches_each_kind_of_direct_change():
    for line in ("ctx.progress.step = 2", "progress.cert.state = 'passed'", "progress.checked['3'] = [1]",
                 "ctx.progress.completed.append(3)", "progress.history += []", "progress.move_to(2, now)",
                 "ctx.progress.__dict__.update(fresh.__dict__)", "handoffs.close(progress)",
                 "progress.faq.update(x)", "progress.record('x', now)"):
        assert _DIRECT_CHANGE.search(line), line
    for line in ("if progress.step == 2:", "x = ctx.progress.checked_items(3)", "progress = ctx.progress",
                 "after = ctx.after(changes)", "state = dict(ctx.progress.faq or {})"):
        assert not _DIRECT_CHANGE.search(line), line


def test_no_handler_changes_progress_itself():
    """Every change goes through bot.core.progress_reducer (the dispatch applies what handlers return)."""
    found = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _DIRECT_CHANGE.search(line.split("#")[0]):
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert found == []


def test_no_handler_writes_an_event_record_itself():
    """Records come out of the reducer (a Note for what changes no progress), never from a handler."""
    for path in sorted((ROOT / "handlers").glob("*.py")):
        assert not re.search(r"\bEvent\(|import[^\n]*\bEvent\b", path.read_text(encoding="utf-8")), path.name
