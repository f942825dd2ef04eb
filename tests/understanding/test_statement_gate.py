"""The statement gate: a learned second opinion on whether a message changes progress at all (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.understand import STATE_CHANGING, Context
from bot.understand.examples import load_specs
from bot.understand.factory import item_counts
from bot.understand.items import closing_items, load_item_names
from bot.understand.lexicon import ContextWords
from bot.understand.stance import UnderstandingDataError
from bot.understand.statement_gate import STATEMENTS_FILE, StatementGate, load_statements
from bot.understand.understander import Understander
from tests.support.phrases import SUBMITTED_CERTIFICATION, TICK_ITEM_2

DATA = Path(__file__).resolve().parents[1] / "data"
COUNTS = item_counts()
GUIDE = Path(__file__).resolve().parents[2] / "data" / "guide" / "steps.yaml"


def _ctx(step: int, cert: str = "none", pending: str | None = None) -> Context:
    return Context(step=step, cert=cert, item_count=COUNTS.get(step, 0), pending=pending)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def test_the_gate_learns_nothing_from_the_rows_that_measure_it():
    learned = {row["text"] for row in _rows(STATEMENTS_FILE)}
    sealed = (9, 10, 21, 22, 27, 28, 31, 32)
    measuring = {row["text"] for n in sealed for row in _rows(DATA / f"commands_eval{n}.jsonl")}
    measuring |= {row["text"] for n in (*range(1, 9), 29, 30)
                  for row in _rows(DATA / ("commands_eval.jsonl" if n == 1 else f"commands_eval{n}.jsonl"))
                  if row.get("split") == "holdout"}
    assert learned, "the statements file is empty"
    assert not learned & measuring


def test_a_broken_statement_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "statements.jsonl"
    path.write_text('# header\n{"text": "完成", "step": 1, "cert": "none", "pending": null, "changes": true}\n'
                    '{"text": "下一步", "step": "one"}\n', encoding="utf-8")
    with pytest.raises(UnderstandingDataError, match=r"statements.jsonl:3"):
        load_statements(path)


def test_the_context_is_part_of_what_the_gate_learns():
    # the same words change progress on one step and not on another: only the context can tell them apart
    rows = [(text, Context(step=4), True) for text in ("交了", "交上去了", "传了", "上传了", "交完了")] * 4
    rows += [(text, Context(step=2), False) for text in ("交了", "交上去了", "传了", "上传了", "交完了")] * 4
    gate = StatementGate(rows)
    assert gate.changes("交了", Context(step=4)) > 0.5 > gate.changes("交了", Context(step=2))


@pytest.mark.parametrize("text, step, cert, intent", [
    ("完成", 2, "none", "done"),
    ("下一步", 4, "passed", "next"),
    (TICK_ITEM_2, 1, "none", "check"),
    ("第3步", 1, "none", "goto"),
    ("开放平台账号注册好了", 1, "none", "check"),
    (SUBMITTED_CERTIFICATION, 3, "none", "cert_submitted"),
    ("认证失败了，说没绑腾讯云", 3, "submitted", "cert_failed"),
])
def test_plain_commands_and_reports_pass_the_gate(understander, text, step, cert, intent):
    assert understander.read(text, _ctx(step, cert)).intent == intent


def test_a_change_the_gate_doubts_is_asked_about_and_a_yes_makes_it():
    # Sarcasm is beyond the rules ("完成了才怪" reads as done); taught as statements that change nothing, the gate
    # catches it, and the rules' reading becomes the question's proposal.
    sarcasm = [(f"{said}{tail}", Context(step=step), False)
               for said in ("完成了", "搞定了", "下一步", "弄好了", "都勾完了", "提交了", "做完了")
               for tail in ("才怪", "才怪呢", "个寂寞") for step in (1, 2, 4)]
    specs = load_specs()
    reader = Understander(specs, ContextWords.load(), None, item_names=load_item_names(GUIDE),
                          closing=closing_items(GUIDE), statements=load_statements() + sarcasm)
    ctx = _ctx(2)
    text = "完成了才怪"
    ruled = reader._read_message(text, ctx)
    assert ruled.intent in STATE_CHANGING  # what the rules alone make of it
    asked = reader.read(text, ctx)
    assert (asked.intent, asked.kind, asked.proposal) == ("clarify", "statement", ruled)
    assert asked.asked_by == "" and asked.proposal is not None  # saying it again is no yes
    pending = Context(step=2, item_count=ctx.item_count, pending="confirm_reading",
                      proposal=asked.proposal.slots_json())
    assert reader.read("是的", pending).intent == ruled.intent  # the user's yes makes the change
    assert reader.read("完成", ctx).intent == "done"  # a plain command is not doubted


@pytest.mark.parametrize("label, intent, items", [("question", "question", ()), ("check", "check", (5,)),
                                                  ("status", "status", ())])
def test_a_lesson_wins_over_the_rules_even_with_a_quote_in_it(label, intent, items):
    # the item rules read "开发资料那项" as a tick of item 5, and the quoted “完成” used to hide the lesson from its
    # exact match: what staff taught for these words is what they mean, with the item the words name
    from bot.understand.factory import build_understander

    text = "我说的“完成”是开发资料那项，不是整步"
    reading = build_understander(taught=((text, label),)).read(text, _ctx(1))
    assert (reading.intent, reading.items) == (intent, items)


def test_the_question_the_gate_asks_names_the_change_and_waits_for_a_yes(runtime, clock):
    from bot.core.messages import Incoming
    from bot.core.progress import Progress
    from bot.core.render import TEXT
    from bot.understand import Reading
    from handlers.context import HandlerContext
    from handlers.registry import dispatch

    progress = Progress.new("c", "u", clock())
    progress.move_to(2, clock())
    doubted = Reading("clarify", 0.9, kind="statement", proposal=Reading("check", 0.9, items=(2,)), asked_by="")
    result = dispatch(HandlerContext(Incoming("sim", "c", "u", "m-1", text="…"), doubted, progress, clock(),
                                     runtime.services))
    assert [change.pending for change in result.changes] == ["confirm_reading"]  # the guess is kept for the yes
    renderer = runtime.services.renderer
    zh, en = (renderer.render(result.reply, lang, TEXT) for lang in ("zh", "en"))
    assert "要我现在「勾选第 2 项」吗" in zh and "「是」" in zh, zh
    assert 'shall I "tick item 2" now' in en, en

