"""Offline evaluation of FAQ retrieval against a question<TAB>expected_id file.

Kept in the package (not only in scripts/) so the test suite asserts the same numbers the
script prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.faq.search import KnowledgeBase, SearchResult


@dataclass(frozen=True)
class Case:
    """One evaluation question; ``expected`` is None for off-topic questions."""

    question: str
    expected: str | None
    line: int


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
    confident_wrong_off_topic: int = 0
    rejected_off_topic: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def top1_accuracy(self) -> float:
        """On-topic questions whose best guess is the expected topic."""
        return self.top1_correct / self.on_topic if self.on_topic else 0.0

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
    """Parse the TSV; ``#`` lines and blank lines are skipped."""
    cases = []
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        question, sep, expected = raw.partition("\t")
        if not sep:
            raise ValueError(f"{path}: line {number}: expected question<TAB>expected_id")
        cases.append(Case(question=question.strip(), expected=expected.strip() or None, line=number))
    return cases


def evaluate(kb: KnowledgeBase, cases: list[Case]) -> Report:
    """Run every case through ``kb.search`` and tally the figures."""
    report = Report()
    for case in cases:
        result = kb.search(case.question)
        guess = result.best_guess.id if result.best_guess else None
        if case.expected is None:
            report.off_topic += 1
            if result.confident:
                report.confident_wrong_off_topic += 1
                report.misses.append(Miss(case, result))
            else:
                report.rejected_off_topic += 1
            continue
        if case.expected not in kb.topics:
            raise ValueError(f"line {case.line}: unknown expected id {case.expected!r}")
        report.on_topic += 1
        report.top1_correct += guess == case.expected
        if result.confident:
            report.confident += 1
            report.confident_correct += guess == case.expected
        if guess != case.expected or not result.confident:
            report.misses.append(Miss(case, result))
    return report


def format_report(report: Report) -> str:
    """Human-readable summary plus one line per miss."""
    lines = [
        f"on-topic questions:      {report.on_topic}",
        f"off-topic questions:     {report.off_topic}",
        f"top-1 accuracy:          {report.top1_accuracy:.1%}",
        f"confident accuracy:      {report.confident_accuracy:.1%}",
        f"coverage (confident):    {report.coverage:.1%}",
        f"off-topic rejection:     {report.off_topic_rejection:.1%}",
        "",
        f"misses ({len(report.misses)}): expected -> best guess [score, confident]",
    ]
    for miss in report.misses:
        res = miss.result
        guess = res.best_guess.id if res.best_guess else "-"
        kind = "wrong" if miss.case.expected != guess else "unsure"
        lines.append(
            f"  {kind:6} {miss.case.question!r}: {miss.case.expected or '(off-topic)'} -> {guess} "
            f"[{res.score:.2f}, {'confident' if res.confident else 'not confident'}]"
        )
    return "\n".join(lines)
