"""FAQ search latency per question, next to the cost of jieba segmentation alone.

The FAQ runs inside the WeCom callback (which must answer within 5 s, shared with Redis and
rendering), so a search must stay far below that: target p99 < 5 ms. The jieba-only baseline
shows how much of the time is segmentation, which no tuning of the ranking can remove.

Run: .venv/bin/python bench/faq_latency.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.faq import KnowledgeBase  # noqa: E402
from bot.faq.evaluate import read_cases  # noqa: E402
from bot.faq.lexicon import normalize  # noqa: E402

EVAL = ROOT / "tests" / "data" / "faq_eval.tsv"


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = min(len(sorted_ms) - 1, max(0, round(q / 100 * len(sorted_ms)) - 1))
    return sorted_ms[index]


def timed(fn, questions: list[str], rounds: int) -> list[float]:
    """Per-call latencies in ms over ``rounds`` passes of ``questions``."""
    out: list[float] = []
    for _ in range(rounds):
        for question in questions:
            start = time.perf_counter()
            fn(question)
            out.append((time.perf_counter() - start) * 1000)
    return sorted(out)


def line(name: str, ms: list[float]) -> str:
    return (
        f"{name:<22} n={len(ms):>6}  p50={percentile(ms, 50):.3f} ms  p99={percentile(ms, 99):.3f} ms  "
        f"max={ms[-1]:.3f} ms  mean={statistics.fmean(ms):.3f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """Load the knowledge base, warm up, then time search and plain segmentation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="passes over the eval questions")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    kb = KnowledgeBase.load(KnowledgeBase.default_dir())
    load_s = time.perf_counter() - start
    questions = [case.question for case in read_cases(EVAL)]
    jieba = kb.analyzer.jieba

    def segment(question: str) -> None:
        list(jieba.cut(normalize(question), HMM=False))

    for question in questions:  # warm-up: fills caches the way a running bot would
        kb.search(question)
        segment(question)

    search_ms = timed(kb.search, questions, args.rounds)
    jieba_ms = timed(segment, questions, args.rounds)
    print(f"knowledge base: {len(kb.topics)} topics, loaded in {load_s:.2f} s; {len(questions)} questions")
    print(line("search (full)", search_ms))
    print(line("jieba segment only", jieba_ms))
    target = percentile(search_ms, 99) < 5.0
    print(f"target p99 < 5 ms: {'met' if target else 'MISSED'}")
    return 0 if target else 1


if __name__ == "__main__":
    sys.exit(main())
