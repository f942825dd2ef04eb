"""Offline evaluation of FAQ retrieval against a TSV of questions and expected topic ids.

Two formats are read:

- ``question<TAB>expected_id`` (the project's paraphrase sets, no header);
- ``question<TAB>topic_id<TAB>split<TAB>url`` (the real questions collected from public sources;
  an optional header line names the columns): ``topic_id`` may be ``a|b`` (either is right) or
  empty (off-topic), ``split`` is ``dev`` or ``holdout`` and every figure is reported per split.

Kept in the package (not only in scripts/) so the test suite asserts the same numbers the
script prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.faq.search import KnowledgeBase, SearchResult

ALL = "all"
COLUMNS = ("question", "topic_id", "split", "url")  # the order when a file has no header line


@dataclass(frozen=True)
class Case:
    """One evaluation question; ``accepted`` is empty for off-topic questions."""

    question: str
    expected: str | None  # the first accepted id (the older one-id API)
    line: int
    accepted: tuple[str, ...] = ()
    split: str = ALL
    url: str = ""


@dataclass
class Miss:
    """A question the search got wrong, with what it answered."""

    case: Case
    result: SearchResult


@dataclass
class Report:
    """Accuracy figures; all fractions in [0, 1]."""

    on_topic: int = 0
    off_topic: int = 0
    top1_correct: int = 0
    confident: int = 0
    confident_correct: int = 0
    confident_wrong: int = 0
    suggested_right: int = 0
    declined: int = 0
    confident_wrong_off_topic: int = 0
    rejected_off_topic: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def top1_accuracy(self) -> float:
        """On-topic questions whose best-ranked topic is an expected one (whatever the decision)."""
        return self.top1_correct / self.on_topic if self.on_topic else 0.0

    @property
    def answered_right(self) -> float:
        """On-topic questions answered confidently with an expected topic."""
        return self.confident_correct / self.on_topic if self.on_topic else 0.0

    @property
    def confidently_wrong(self) -> float:
        """On-topic questions answered confidently with a wrong topic."""
        return self.confident_wrong / self.on_topic if self.on_topic else 0.0

    @property
    def suggested_right_share(self) -> float:
        """On-topic questions not answered, but with an expected topic among the suggestions."""
        return self.suggested_right / self.on_topic if self.on_topic else 0.0

    @property
    def coverage(self) -> float:
        """On-topic questions answered confidently."""
        return self.confident / self.on_topic if self.on_topic else 0.0

    @property
    def confident_accuracy(self) -> float:
        """Of all confident answers (on- and off-topic questions), the share that was right."""
        answered = self.confident + self.confident_wrong_off_topic
        return self.confident_correct / answered if answered else 0.0

    @property
    def off_topic_rejection(self) -> float:
        """Off-topic questions that came back not confident."""
        return self.rejected_off_topic / self.off_topic if self.off_topic else 0.0


def read_cases(path: Path) -> list[Case]:
    """Parse either TSV format; ``#`` lines and blank lines are skipped."""
    cases: list[Case] = []
    header: list[str] | None = None
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        cells = [cell.strip() for cell in raw.split("\t")]
        if header is None and not cases and cells[0].lower() == "question" and len(cells) >= 2:
            header = [cell.lower() for cell in cells]
            continue
        if len(cells) < 2:
            raise ValueError(f"{path}: line {number}: expected question<TAB>expected_id")
        row = dict(zip(header or COLUMNS, cells, strict=False))
        accepted = tuple(part.strip() for part in row.get("topic_id", "").split("|") if part.strip())
        cases.append(
            Case(
                question=row.get("question", ""),
                expected=accepted[0] if accepted else None,
                line=number,
                accepted=accepted,
                split=row.get("split") or ALL,
                url=row.get("url", ""),
            )
        )
    return cases


def suggestions(result: SearchResult) -> list[str]:
    """Topic ids the user is offered when the bot is not sure (best guess first)."""
    offered = ([result.best_guess] if result.best_guess else []) + list(result.alternatives)
    return list(dict.fromkeys(t.id for t in offered))[:3]


def evaluate(kb: KnowledgeBase, cases: list[Case]) -> Report:
    """Run every case through ``kb.search`` and tally the figures."""
    report = Report()
    for case in cases:
        result = kb.search(case.question)
        accepted = case.accepted or ((case.expected,) if case.expected else ())
        if not accepted:
            report.off_topic += 1
            if result.confident:
                report.confident_wrong_off_topic += 1
                report.misses.append(Miss(case, result))
            else:
                report.rejected_off_topic += 1
            continue
        unknown = [tid for tid in accepted if tid not in kb.topics]
        if unknown:
            raise ValueError(f"line {case.line}: unknown expected id(s) {', '.join(map(repr, unknown))}")
        report.on_topic += 1
        ranked = result.candidates[0].id if result.candidates else None
        report.top1_correct += ranked in accepted
        if result.confident:
            report.confident += 1
            right = result.topic is not None and result.topic.id in accepted
            report.confident_correct += right
            report.confident_wrong += not right
        else:
            report.suggested_right += any(tid in accepted for tid in suggestions(result))
            report.declined += not suggestions(result)
        if not (result.confident and result.topic is not None and result.topic.id in accepted):
            report.misses.append(Miss(case, result))
    return report


def ranking_top1(kb: KnowledgeBase, cases: list[Case]) -> dict[str, float]:
    """Top-1 of each retriever on its own (lexical incl. exact codes, dense alone) and fused: shows
    where the gain comes from. Dense is None when the base has no embedder."""
    on_topic = [c for c in cases if c.accepted or c.expected]
    if not on_topic:
        return {}
    lexical = KnowledgeBase(kb.topics, kb.lexicon, embedder=False, analyzer=kb.analyzer)
    out: dict[str, float] = {}
    for name, base in (("lexical", lexical), ("fused", kb)):
        hits = 0
        for case in on_topic:
            ranked = base.search(case.question).candidates
            hits += bool(ranked) and ranked[0].id in (case.accepted or (case.expected,))
        out[name] = hits / len(on_topic)
    if kb.embedder is not None and kb.semantic_ready:
        hits = 0
        for case in on_topic:
            best = int(kb.semantic_scores(case.question).argmax())
            hits += list(kb.topics)[best] in (case.accepted or (case.expected,))
        out["dense"] = hits / len(on_topic)
    return out


def evaluate_splits(kb: KnowledgeBase, cases: list[Case]) -> dict[str, Report]:
    """One report per split, in the order the splits first appear."""
    splits = list(dict.fromkeys(case.split for case in cases))
    return {split: evaluate(kb, [c for c in cases if c.split == split]) for split in splits}


def format_report(report: Report, *, misses: bool = True) -> str:
    """Human-readable summary plus (unless ``misses=False``) one line per miss."""
    lines = [
        f"on-topic questions:      {report.on_topic}",
        f"off-topic questions:     {report.off_topic}",
        f"top-1 accuracy:          {report.top1_accuracy:.1%}  (best-ranked topic right, whatever the decision)",
        f"answered right:          {report.answered_right:.1%}",
        f"confidently wrong:       {report.confidently_wrong:.1%}",
        f"not answered, right one suggested: {report.suggested_right_share:.1%}",
        f"declined (nothing offered): {report.declined / report.on_topic if report.on_topic else 0:.1%}",
        f"confident accuracy:      {report.confident_accuracy:.1%}",
        f"coverage (confident):    {report.coverage:.1%}",
        f"off-topic rejection:     {report.off_topic_rejection:.1%}",
    ]
    if not misses:
        return "\n".join(lines)
    lines += ["", f"misses ({len(report.misses)}): expected -> best guess [score, decision] suggestions"]
    for miss in report.misses:
        res = miss.result
        guess = res.candidates[0].id if res.candidates else "-"
        expected = "|".join(miss.case.accepted) or (miss.case.expected or "")
        kind = "wrong" if res.confident else "unsure"
        lines.append(
            f"  {kind:6} {miss.case.question!r}: {expected or '(off-topic)'} -> {guess} "
            f"[{res.score:.2f}, {res.decision}] {','.join(suggestions(res)) or '-'}"
        )
    return "\n".join(lines)
