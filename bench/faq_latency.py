"""FAQ search latency per question (fused lexical + semantic), next to lexical-only search and
jieba segmentation alone; plus the knowledge base's load time and the process's memory.

The FAQ runs inside the WeCom callback (5 s for everything, and the understanding step's budget
is p99 30 ms a message), so a search must stay well below that. The baselines measured in the
same run show what the embedding adds on top of the words, and how much is segmentation.
Questions are embedded anew in every round (the question cache is emptied), so the figures are
the model's, not the cache's.

Run: .venv/bin/python bench/faq_latency.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.faq import KnowledgeBase  # noqa: E402
from bot.faq.evaluate import read_cases  # noqa: E402
from bot.faq.knowledge import load_topics  # noqa: E402
from bot.faq.lexicon import Lexicon, normalize  # noqa: E402
from bot.faq.semantic import Embedder, default_cache_dir  # noqa: E402

EVAL = ROOT / "tests" / "data" / "faq_eval.tsv"
TARGET_P99_MS = 30.0
TARGET_LOAD_S = 5.0
TARGET_RSS_MB = 400.0


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = min(len(sorted_ms) - 1, max(0, round(q / 100 * len(sorted_ms)) - 1))
    return sorted_ms[index]


def timed(fn, questions: list[str], rounds: int, before_round=None) -> list[float]:
    """Per-call latencies in ms over ``rounds`` passes of ``questions``."""
    out: list[float] = []
    for _ in range(rounds):
        if before_round:
            before_round()
        for question in questions:
            start = time.perf_counter()
            fn(question)
            out.append((time.perf_counter() - start) * 1000)
    return sorted(out)


def line(name: str, ms: list[float]) -> str:
    return (
        f"{name:<26} n={len(ms):>6}  p50={percentile(ms, 50):.3f} ms  p99={percentile(ms, 99):.3f} ms  "
        f"max={ms[-1]:.3f} ms  mean={statistics.fmean(ms):.3f} ms"
    )


def rss_mb() -> float:
    """Current resident set size (Linux /proc), in MiB."""
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Load (lexical, then fused), warm up, then time fused search, lexical search and segmentation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="passes over the eval questions (fused search)")
    parser.add_argument("--every", type=int, default=2, help="use every n-th eval question (keeps the run ~30 s)")
    parser.add_argument("--cold", action="store_true", help="also time a load without the disk cache")
    parser.add_argument("--file", type=Path, default=EVAL, help="questions to time (default: the tuning set)")
    args = parser.parse_args(argv)
    directory = KnowledgeBase.default_dir()

    start = time.perf_counter()
    lexical = KnowledgeBase(load_topics(directory), Lexicon.load(directory), embedder=False)
    lexical_s = time.perf_counter() - start
    rss_lexical = rss_mb()

    start = time.perf_counter()
    embedder = Embedder(default_cache_dir())
    fused = KnowledgeBase(lexical.topics, lexical.lexicon, embedder=embedder, background=False)
    fused_s = time.perf_counter() - start
    computed = embedder.passages_computed
    cold_s = float("nan")
    if args.cold:  # no disk cache: what a first start on a fresh machine costs (slow: 10-40 s)
        cold = Embedder(None)
        start = time.perf_counter()
        KnowledgeBase(lexical.topics, lexical.lexicon, embedder=cold, analyzer=lexical.analyzer, background=False)
        cold_s = time.perf_counter() - start
        del cold
    rss_fused = rss_mb()

    questions = [case.question for case in read_cases(args.file)][:: args.every]
    jieba = lexical.analyzer.jieba

    def segment(question: str) -> None:
        list(jieba.cut(normalize(question), HMM=False))

    for question in questions:  # warm-up: fills word caches the way a running bot would
        fused.search(question)
        lexical.search(question)
    embedded = embedder.queries_computed

    fused_ms = timed(fused.search, questions, args.rounds, embedder.forget_queries)
    share = (embedder.queries_computed - embedded) / (len(questions) * args.rounds)
    cached_ms = timed(fused.search, questions, 1)
    lexical_ms = timed(lexical.search, questions, 10)
    model_ms = timed(embedder.query, questions, 1, embedder.forget_queries)
    jieba_ms = timed(segment, questions, 10)
    rss_end = rss_mb()

    print(f"knowledge base: {len(fused.topics)} topics; {len(questions)} questions ({args.file.name})")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores: above 2 means queueing)")
    print(f"load: lexical {lexical_s:.2f} s (jieba included); + model and topic vectors {fused_s:.2f} s "
          f"({computed} passages embedded, the rest from the disk cache); without disk cache {cold_s:.2f} s")
    print(f"RSS: lexical only {rss_lexical:.0f} MiB; with the model {rss_fused:.0f} MiB; "
          f"after the run {rss_end:.0f} MiB")
    print(line("search (fused)", fused_ms))
    print(f"  ({share:.0%} of questions needed the embedding; the rest were settled by codes/words)")
    print(line("search (fused, cached q)", cached_ms))
    print(line("search (lexical only)", lexical_ms))
    print(line("embed one question", model_ms))
    print(line("jieba segment only", jieba_ms))
    checks = {
        f"fused p99 <= {TARGET_P99_MS:.0f} ms": percentile(fused_ms, 99) <= TARGET_P99_MS,
        f"load <= {TARGET_LOAD_S:.0f} s": lexical_s + fused_s <= TARGET_LOAD_S,
        f"RSS <= {TARGET_RSS_MB:.0f} MiB": rss_end <= TARGET_RSS_MB,
    }
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
