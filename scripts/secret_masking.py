"""Print how often each pasted-secret shape is masked, and how often ordinary messages are touched.

Run: .venv/bin/python scripts/secret_masking.py [--samples 10000] [--seed 2026] [--forms]
Targets (issue 22): every shape >= 99 % masked (over the ways of pasting it: spaced, split over two lines,
full-width, a non-breaking or zero-width space inside, backticks; PEM keys in nine layouts); false positives
<= 0.5 % for every kind of ordinary message. Exit 1 when missed. The samples come from
tests/support/secret_samples.py, written apart from the redactor.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.secret_samples import measure_detail  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="random samples per shape (and ordinary)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--forms", action="store_true", help="also print the rate per way of pasting")
    args = parser.parse_args(argv)
    rates, by_kind = measure_detail(args.samples, args.seed)
    width = max(len(f"{shape} / {form}") for shape, form in rates)
    for (shape, form), rate in rates.items():
        if form == "*":
            print(f"{shape:<{width}}  masked {rate:7.2%}")
        elif args.forms:
            print(f"{'  ' + form:<{width}}  masked {rate:7.2%}")
    for kind, rate in by_kind.items():
        print(f"{'all ordinary messages' if kind == '*' else kind:<{width}}  touched {rate:6.2%}  (false positives)")
    ok = min(r for (_, form), r in rates.items() if form == "*") >= 0.99 and max(by_kind.values()) <= 0.005
    print("targets met" if ok else "targets MISSED (>= 99 % per shape, <= 0.5 % false positives)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
