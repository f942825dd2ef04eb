"""Print how often each pasted-secret shape is masked, and how often ordinary messages are touched.

Run: .venv/bin/python scripts/secret_masking.py [--samples 10000] [--seed 2026]
Targets (the issue's): every shape >= 99 % masked; false positives <= 1 %. Exit 1 when missed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.secret_samples import measure  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="random samples per shape (and ordinary)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rates, false_positives = measure(args.samples, args.seed)
    width = max(map(len, rates))
    for shape, rate in rates.items():
        print(f"{shape:<{width}}  masked {rate:7.2%}")
    print(f"{'ordinary messages':<{width}}  touched {false_positives:6.2%}  (false positives)")
    ok = min(rates.values()) >= 0.99 and false_positives <= 0.01
    print("targets met" if ok else "targets MISSED (>= 99 % per shape, <= 1 % false positives)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
