"""Print how well the bot reads command-like messages in context (tests/data/commands_eval.jsonl).

Run: .venv/bin/python scripts/understand_eval.py [--file F] [--misses dev|holdout|none]
Misses are listed for the dev split only by default: the holdout split is for figures, not tuning.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.understand.evaluate import format_report, read_cases, score  # noqa: E402
from bot.understand.factory import build_understander, item_counts  # noqa: E402

DEFAULT = ROOT / "tests" / "data" / "commands_eval.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", "-f", type=Path, default=DEFAULT)
    parser.add_argument("--misses", default="dev", help="which split's misses to list (dev, holdout, none)")
    args = parser.parse_args(argv)
    understander = build_understander()
    scores = score(read_cases(args.file, item_counts()), understander.read)
    print(format_report(scores, None if args.misses == "none" else args.misses))
    held = scores.get("holdout")
    ok = held is None or (held.accuracy >= 0.9 and held.harmful_rate <= 0.02)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
