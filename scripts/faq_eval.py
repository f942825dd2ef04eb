"""Print FAQ retrieval accuracy on tests/data/faq_eval.tsv (or another evaluation file).

Run: .venv/bin/python scripts/faq_eval.py [--file path/to/eval.tsv]
     .venv/bin/python scripts/faq_eval.py --file tests/data/faq_holdout.tsv   # held-out paraphrases
     .venv/bin/python scripts/faq_eval.py --file tests/data/faq_real.tsv      # real questions, per split

Files with a ``split`` column get one report per split; misses are listed for every split except
``holdout`` (never tune on those: only their figures are printed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.faq import KnowledgeBase  # noqa: E402
from bot.faq.evaluate import evaluate_splits, format_report, ranking_top1, read_cases  # noqa: E402

DEFAULT_EVAL = ROOT / "tests" / "data" / "faq_eval.tsv"
HIDDEN_SPLITS = ("holdout",)


def main(argv: list[str] | None = None) -> int:
    """Evaluate and print the report(s); exit 1 when the accuracy targets are missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, help="eval file (positional form, kept for old scripts)")
    parser.add_argument("--file", "-f", type=Path, help=f"eval file (default: {DEFAULT_EVAL.relative_to(ROOT)})")
    parser.add_argument("--split", help="only this split (dev, holdout)")
    parser.add_argument("--compare", action="store_true", help="also top-1 of lexical-only and dense-only ranking")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    path = args.file or args.path or DEFAULT_EVAL
    kb = KnowledgeBase.load(KnowledgeBase.default_dir(), background=False)
    cases = read_cases(path)
    if args.split:
        cases = [c for c in cases if c.split == args.split]
    ok = True
    for split, report in evaluate_splits(kb, cases).items():
        if split != "all":
            print(f"=== split: {split} ({report.on_topic + report.off_topic} questions)")
        if args.compare:
            part = [c for c in cases if c.split == split]
            print("ranking top-1: " + ", ".join(f"{k} {v:.1%}" for k, v in ranking_top1(kb, part).items()))
        print(format_report(report, misses=split not in HIDDEN_SPLITS))
        print()
        ok = ok and report.top1_accuracy >= 0.9 and report.off_topic_rejection >= 0.8
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
