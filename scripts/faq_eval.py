"""Print FAQ retrieval accuracy on tests/data/faq_eval.tsv (or a file given as argument).

Run: .venv/bin/python scripts/faq_eval.py [path/to/eval.tsv]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.faq import KnowledgeBase  # noqa: E402
from bot.faq.evaluate import evaluate, format_report, read_cases  # noqa: E402

DEFAULT_EVAL = ROOT / "tests" / "data" / "faq_eval.tsv"


def main(argv: list[str] | None = None) -> int:
    """Evaluate and print the report; exit 1 when the accuracy targets are missed."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_EVAL
    kb = KnowledgeBase.load(KnowledgeBase.default_dir())
    report = evaluate(kb, read_cases(path))
    print(format_report(report))
    ok = report.top1_accuracy >= 0.9 and report.off_topic_rejection >= 0.8
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
