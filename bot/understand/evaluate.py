"""Score readings against a labelled set: right, wrong, and harmful (a wrong change of state).

The set's conventions (tests/data/commands_eval.md): a reading is right when its intent is the expected
one with the same slots (step for goto, the set of items for check/uncheck, and for a correction the
``uncheck`` list too: "勾错了，应该是3不是2" is check [3] with uncheck [2]), or one of ``accept``
(intent only). A row may name its ``kind`` (negation, plan, problem, named_item, story, context_reply;
``plain`` when absent): the figures are reported per kind as well.
It is harmful when it is wrong and would change progress: a state-changing intent, or
``confirm`` while a question is pending.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.understand.reading import STATE_CHANGING, Context, Reading

PENDING_NAMES = {"confirm": "confirm_reading"}  # the set's name -> the bot's


@dataclass
class Case:
    text: str
    context: Context
    expect: dict[str, Any]
    accept: tuple[str, ...]
    split: str
    line: int
    kind: str = "plain"


@dataclass
class Score:
    total: int = 0
    right: int = 0
    harmful: int = 0
    misses: list[tuple[Case, Reading]] = field(default_factory=list)
    by_intent: Counter[str] = field(default_factory=Counter)
    right_by_intent: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    right_by_kind: Counter[str] = field(default_factory=Counter)
    harmful_by_kind: Counter[str] = field(default_factory=Counter)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0

    @property
    def harmful_rate(self) -> float:
        return self.harmful / self.total if self.total else 0.0


def read_cases(path: Path, item_counts: dict[int, int]) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        row = json.loads(line)
        step = int(row.get("step", 0))
        pending = row.get("pending")
        context = Context(step=step, cert=row.get("cert") or "none", item_count=item_counts.get(step, 0),
                          pending=PENDING_NAMES.get(pending, pending))
        cases.append(Case(row["text"], context, row["expect"], tuple(row.get("accept") or ()),
                          row.get("split", "dev"), number, str(row.get("kind") or "plain")))
    return cases


def is_right(case: Case, reading: Reading) -> bool:
    expect = case.expect
    if reading.intent in case.accept:
        return True
    if reading.intent != expect["intent"]:
        return False
    if expect["intent"] == "goto":
        return reading.step == expect.get("step")
    if expect["intent"] in ("check", "uncheck"):
        return (set(reading.items) == set(expect.get("items") or ())
                and set(reading.uncheck) == set(expect.get("uncheck") or ()))
    return True


def is_harmful(case: Case, reading: Reading) -> bool:
    if is_right(case, reading):
        return False
    if reading.intent == "confirm":
        return case.context.pending is not None
    if reading.intent == "start":
        return case.context.step == 0
    if reading.intent in ("done", "next") and case.context.step > 6:
        return False  # all six steps are done: the handler says so and changes nothing
    return reading.intent in STATE_CHANGING


def score(cases: list[Case], read) -> dict[str, Score]:
    """Scores per split ("dev", "holdout") and over all."""
    scores: dict[str, Score] = {}
    for case in cases:
        reading = read(case.text, case.context)
        for key in (case.split, "all"):
            s = scores.setdefault(key, Score())
            s.total += 1
            s.by_intent[case.expect["intent"]] += 1
            s.by_kind[case.kind] += 1
            if is_right(case, reading):
                s.right += 1
                s.right_by_intent[case.expect["intent"]] += 1
                s.right_by_kind[case.kind] += 1
            else:
                s.misses.append((case, reading))
                harmful = is_harmful(case, reading)
                s.harmful += harmful
                s.harmful_by_kind[case.kind] += harmful
    return scores


def format_report(scores: dict[str, Score], show_misses: str | None = "dev") -> str:
    lines = []
    for key in ("dev", "holdout", "all"):
        s = scores.get(key)
        if s is None:
            continue
        lines.append(f"{key:8} {s.right}/{s.total} right = {s.accuracy:.1%}, "
                     f"harmful {s.harmful} = {s.harmful_rate:.1%}")
        if len(s.by_kind) > 1:
            for kind in sorted(s.by_kind):
                n = s.by_kind[kind]
                lines.append(f"    {kind:14} {s.right_by_kind[kind]}/{n} right = {s.right_by_kind[kind] / n:.1%}, "
                             f"harmful {s.harmful_by_kind[kind]}")
    if show_misses and show_misses in scores:
        lines.append(f"\nmisses ({show_misses}):")
        for case, reading in scores[show_misses].misses:
            mark = "HARMFUL " if is_harmful(case, reading) else ""
            got = (reading.intent + (f" step={reading.step}" if reading.step else "")
                   + (f" items={list(reading.items)}" if reading.items else "")
                   + (f" uncheck={list(reading.uncheck)}" if reading.uncheck else "")
                   + (f" ({reading.kind})" if reading.kind else ""))
            lines.append(f"  {mark}[{case.kind}] {case.text!r} step={case.context.step} cert={case.context.cert} "
                         f"pending={case.context.pending}: expected {case.expect} got {got}")
    return "\n".join(lines)
