"""``python -m bot [serve|chat|faq|worker|check]``: one entry point for every process."""

from __future__ import annotations

import sys

from bot.cli.progname import program

USAGE = """usage: {prog} COMMAND [options]

commands:
  serve    start the bot: web (gunicorn) + scheduler worker, with an embedded Redis if REDIS_URL is unset
  chat     talk to the bot through signed, encrypted callbacks (--user, --url, --aibot --group)
  faq      read questions on stdin, print one JSON answer per line
  understand  read {{"text", "step", "cert"}} JSON lines on stdin, print how the bot reads each
  worker   run the scheduler worker (reminders, outbox)
  connect  hold the AI bot's long connection (WECOM_BOT_ID, WECOM_BOT_SECRET; no public URL needed)
  ocr      read the screenshots users send (OCR_CONCURRENCY at a time; the model loaded once)
  check    validate every setting, the data files and templates, reach Redis, then exit

`{prog} COMMAND --help` shows a command's options; without a command, `serve` runs.
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE.format(prog=program()))  # the command list; `COMMAND --help` shows one command's options
        return 0
    command = argv.pop(0) if argv and not argv[0].startswith("-") else "serve"
    if command == "serve":
        from bot.cli.serve import main as run
    elif command == "chat":
        from bot.demo.chat import main as run
    elif command == "faq":
        from bot.faq.cli import main as run
    elif command == "understand":
        from bot.understand.cli import main as run
    elif command == "worker":
        from bot.worker.process import main as run
    elif command == "connect":
        from bot.channels.longconn.holder import main as run
    elif command == "ocr":
        from bot.ocr.reader import main as run
    elif command == "check":
        from bot.cli.serve import check as run
    else:
        print(f"unknown command {command!r}\n\n{USAGE.format(prog=program())}", file=sys.stderr)
        return 2
    return run(argv) or 0


if __name__ == "__main__":
    sys.exit(main())
