"""How well screenshots are read and answered: OCR character accuracy, code found, answer right, confidently wrong.

The set is rendered here (tests/support/screenshots.py: 24 real error texts × dialogs, console pages, network-panel
JSON and phone screenshots, two CJK fonts, sizes 16-30 px, scales 0.75-2×, light/dark, JPEG 50-90, crops),
decoded and scaled exactly as the OCR process does (bot.ocr.images), read by the same model and answered by
the same knowledge-base search the pipeline runs on the text (codes and errmsg texts first, then the words).

    python scripts/ocr_eval.py                 # 120 screenshots
    python scripts/ocr_eval.py --count 240 --write /tmp/shots   # also keep the pictures (PNG/JPEG)

"Right": the answer is for the screenshot's code (the topic that lists it, or the official table's entry).
"Confidently wrong": an answer for another code or topic. The rest is "asked": the bot says what it read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rapidfuzz.distance import Levenshtein  # noqa: E402

from bot.core.redact import redact_secrets  # noqa: E402
from bot.faq import KnowledgeBase  # noqa: E402
from bot.ocr.engine import Engine  # noqa: E402
from bot.ocr.images import decode  # noqa: E402
from tests.support.screenshots import _lines, evaluation_set, render  # noqa: E402


def truth(case, layout: str) -> str:
    return "".join(text for _role, text in _lines(case, layout) if text)


def squash(text: str) -> str:
    return "".join(text.split())


def answered_code(kb: KnowledgeBase, text: str) -> tuple[str | None, str | None]:
    """(what the bot answers with: a topic id or "code:NNNNN", and the code it saw)."""
    found = kb.search(text)  # then as handlers.image.answer decides
    if found.official is not None and not found.error_code:
        return f"code:{found.official.code}", found.official.code
    if found.confident and found.topic is not None:
        return found.topic.id, found.error_code
    return None, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2, help="images read at once (as OCR_CONCURRENCY)")
    parser.add_argument("--write", type=Path, help="also write the screenshots to this folder")
    parser.add_argument("--verbose", action="store_true", help="print every screenshot's outcome")
    args = parser.parse_args(argv)
    os.environ.setdefault("FAQ_EMBED_IN_BACKGROUND", "0")
    kb = KnowledgeBase.load(KnowledgeBase.default_dir(), background=False)
    engine = Engine()
    cases = evaluation_set(args.count, args.seed)
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)

    def one(item):
        name, case, options = item
        data = render(case, **options)
        if args.write:
            (args.write / f"{name}.{'jpg' if options['jpeg'] else 'png'}").write_bytes(data)
        reading = engine.read(decode(data))
        text, _secret = redact_secrets(reading.text)
        expected = truth(case, options["layout"])
        accuracy = 1 - Levenshtein.normalized_distance(squash(expected), squash(reading.text))
        answer, code = answered_code(kb, text)
        return name, case, options, accuracy, answer, code, reading

    started = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        results = list(pool.map(one, cases))
    seconds = time.monotonic() - started

    right = wrong = asked = found = 0
    accuracies = []
    for name, case, _options, accuracy, answer, code, reading in results:
        accuracies.append(accuracy)
        topic_codes = kb.topics[answer].expanded_codes() if answer in kb.topics else []
        if case.code and case.code in squash(reading.text):
            found += 1
        if answer is None:
            asked += 1
            verdict = "asked"
        elif answer == f"code:{case.code}" or case.code in topic_codes:
            right += 1
            verdict = "right"
        else:
            wrong += 1
            verdict = "WRONG"
        if args.verbose or verdict == "WRONG":
            print(f"{name:28} {verdict:6} acc {accuracy:.2f} answer={answer} saw={code} "
                  f"read={reading.text[:70]!r}")
    n = len(results)
    print(f"\n{n} screenshots ({sum(1 for r in results if r[1].code)} with a code), "
          f"{seconds:.0f} s with {args.threads} threads ({seconds / n:.2f} s per image)")
    print(f"OCR character accuracy: mean {sum(accuracies) / n:.1%}, "
          f"min {min(accuracies):.1%}, >= 95 %: {sum(a >= 0.95 for a in accuracies)}/{n}")
    print(f"code found in the text: {found}/{n} ({found / n:.1%})")
    print(f"answered right: {right}/{n} ({right / n:.1%})  confidently wrong: {wrong}/{n} ({wrong / n:.1%})  "
          f"asked (said what it read): {asked}/{n} ({asked / n:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
