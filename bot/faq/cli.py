"""``python -m bot faq``: answer questions from stdin, one JSON object per line on stdout.

Lets support staff try a phrasing against the knowledge base (or a changed copy of it via
``--dir`` / ``KNOWLEDGE_DIR``) without running the bot.
"""

from __future__ import annotations

import argparse
import json
import sys

from bot.cli.progname import program
from bot.faq.knowledge import KnowledgeError
from bot.faq.search import KnowledgeBase, SearchResult


def result_json(question: str, result: SearchResult) -> dict:
    """The CLI's JSON shape for one answered question."""
    return {
        "question": question,
        "topic": result.topic.id if result.topic else None,
        "score": result.score,
        "title": result.topic.title_zh if result.topic else None,
        "alternatives": [t.id for t in result.alternatives],
        "decision": result.decision,  # answer | suggest | decline
    }


def main(argv: list[str] | None = None) -> int:
    """Read questions (one per line) from stdin; print one JSON object per line."""
    parser = argparse.ArgumentParser(prog=program("faq"), description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="knowledge directory (default: data/knowledge or $KNOWLEDGE_DIR)")
    parser.add_argument("--step", type=int, default=None, help="the asker's current step (1-6), a tie-breaker")
    parser.add_argument("--no-taught", action="store_true", help="ignore phrasings staff taught (Redis)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        kb = KnowledgeBase.load(args.dir or KnowledgeBase.default_dir(), background=False)
    except KnowledgeError as exc:
        print(f"knowledge error: {exc}", file=sys.stderr)
        return 2
    if not args.no_taught:
        from bot.understand.cli import staff_topics, taught_examples
        from bot.understand.factory import with_lessons

        kb = with_lessons(kb, taught_examples(), staff_topics())  # what staff taught from the operator view
    for line in sys.stdin:
        question = line.strip()
        if not question:
            continue
        result = kb.search(question, step=args.step)
        sys.stdout.write(json.dumps(result_json(question, result), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
