"""``python -m bot understand``: show how the bot reads messages, one JSON line in, one JSON line out.

In:  {"text": "通过了", "step": 1, "cert": "none"}   (step 0 = not started, 7 = finished;
     cert none | submitted | failed | passed; optional "pending", as the bot keeps it)
Out: {"intent": "clarify", "step": null, "items": [], "topic": null, "confidence": 0.76, "alternatives": [...]}

Support staff use it to see why the bot read a message as it did. What staff taught from the
operator view is included when the bot's Redis (REDIS_URL) answers; ``--no-taught`` leaves it out.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.cli.progname import program
from bot.understand.reading import Context

CERT_STATES = ("none", "submitted", "failed", "passed")


def context_from(row: dict[str, Any], item_counts: dict[int, int]) -> Context:
    step = row.get("step", 0)
    step = step if isinstance(step, int) and not isinstance(step, bool) and 0 <= step <= 7 else 0
    cert = str(row["cert"]) if row.get("cert") in CERT_STATES else "none"
    pending = row.get("pending") if isinstance(row.get("pending"), str) else None
    return Context(step=step, cert=cert, item_count=item_counts.get(step, 0), pending=pending)


def taught_examples() -> list[tuple[str, str]]:
    """Lessons staff taught, from the bot's Redis when REDIS_URL answers (else none, with a note)."""
    try:
        from bot.config import load_settings, redis_target
        from bot.infra.redis_conn import connect
        from bot.understand.teaching import Teaching

        target = redis_target(load_settings())
        if target is None:
            return []
        return Teaching(connect(target)).examples()
    except Exception as exc:  # the CLI works without Redis: it just cannot show lessons
        print(f"note: taught examples not loaded ({type(exc).__name__})", file=sys.stderr)
        return []


def staff_topics() -> list:
    """Topics staff created from the operator view ("save as answer"), when REDIS_URL answers."""
    try:
        from bot.config import load_settings
        from bot.infra.redis_conn import connect
        from bot.understand.staff_topics import StaffTopics

        settings = load_settings()
        return StaffTopics(connect(settings.redis_url)).active() if settings.redis_url else []
    except Exception as exc:  # the CLI works without Redis: it just cannot show them
        print(f"note: staff topics not loaded ({type(exc).__name__})", file=sys.stderr)
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program("understand"), description=__doc__.splitlines()[0])
    parser.add_argument("--no-taught", action="store_true", help="ignore what staff taught (Redis)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from bot.understand.factory import build_understander, item_counts

    understander = build_understander(taught=[] if args.no_taught else taught_examples(),
                                      topics=[] if args.no_taught else staff_topics())
    counts = item_counts()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError("a JSON object with a string 'text' is expected")
        except ValueError as exc:
            sys.stdout.write(json.dumps({"error": str(exc)}, ensure_ascii=False) + "\n")
            continue
        reading = understander.read(row["text"], context_from(row, counts))
        sys.stdout.write(json.dumps(reading.to_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0
