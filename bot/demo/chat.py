"""``python -m bot chat``: talk to the bot as a WeCom user, through real signed, encrypted callbacks.

Each line you type is signed and encrypted exactly as WeCom would, posted to the callback (the app
in this process, or ``--url`` of a running server), and the decrypted reply is printed. Reads stdin
when it is not a terminal, so conversations can be scripted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import TextIO

import requests

from bot.cli.progname import program
from bot.config import load_settings
from bot.demo.simulate_app import AppSimulator, SignedCallback

Poster = Callable[[str, SignedCallback], tuple[int, bytes]]


def local_poster() -> Poster:
    from bot.web.app import create_app

    client = create_app().test_client()

    def post(path: str, callback: SignedCallback) -> tuple[int, bytes]:
        response = client.post(path, query_string=callback.query, data=callback.body)
        return response.status_code, response.get_data()

    return post


def http_poster(base_url: str) -> Poster:
    session = requests.Session()

    def post(path: str, callback: SignedCallback) -> tuple[int, bytes]:
        response = session.post(base_url.rstrip("/") + path, params=callback.query, data=callback.body, timeout=10)
        return response.status_code, response.content

    return post


def converse(lines: Iterable[str], say: Callable[[str], tuple[int, str]], out: TextIO, echo: bool) -> int:
    """Send each line, print each reply; returns the number of failed requests."""
    failures = 0
    for line in lines:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        if echo:
            out.write(f"you> {text}\n")
        status, reply = say(text)
        if status != 200:
            failures += 1
            out.write(f"[HTTP {status}] {reply}\n\n")
        else:
            out.write(f"{reply}\n\n" if reply else "(no reply)\n\n")
        out.flush()
    return failures


def _lines(stdin: TextIO, prompt: bool) -> Iterable[str]:
    while True:
        if prompt:
            try:
                line = input("you> ")
            except EOFError:
                return
            yield line
        else:
            line = stdin.readline()
            if not line:
                return
            yield line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program("chat"), description=__doc__.splitlines()[0])
    parser.add_argument("--user", default="demo-user", help="the WeCom userid who speaks")
    parser.add_argument("--url", help="base URL of a running bot (default: the app in this process)")
    parser.add_argument("--aibot", action="store_true", help="speak through the AI-bot (group) callback")
    parser.add_argument("--group", help="with --aibot: the group chat id (omit for a single chat)")
    parser.add_argument("--bot-name", default="助手", help="with --aibot: the name users @-mention")
    parser.add_argument("--ws", nargs="?", const="ws://127.0.0.1:8765", metavar="URL",
                        help="talk through the demo's fake long connection (default URL %(const)s); "
                             "prints what the bot pushes, too")
    parser.add_argument("--kf", nargs="?", const="http://127.0.0.1:8766", metavar="URL",
                        help="talk as a 微信客服 customer through the demo's fake 微信客服 (default URL %(const)s); "
                             "prints what the bot sends, follow-ups too")
    parser.add_argument("--linger", type=float, default=0.0,
                        help="with --ws or --kf: seconds to stay after the last line, for follow-ups")
    parser.add_argument("--image", action="append", metavar="FILE",
                        help="send a screenshot (repeatable): read by the OCR reader in this process, answer printed")
    args = parser.parse_args(argv)
    if args.image:
        if args.url or args.ws or args.aibot or args.kf:
            parser.error("--image runs the bot in this process, through the app callback (no --url/--ws/--aibot/--kf)")
        from bot.demo.image_chat import chat_image

        return chat_image(args.image, args.user, sys.stdout)
    if args.kf:
        from bot.demo.kf_chat import chat as kf_chat

        interactive = sys.stdin.isatty()
        user = "demo-customer" if args.user == "demo-user" else args.user
        if interactive:
            print(f"Talking to the bot through 微信客服 as {user!r}. /click ID presses a menu item, /end ends "
                  "the session, Ctrl-D quits.")
        return 1 if kf_chat(args.kf, user, _lines(sys.stdin, interactive), sys.stdout, echo=not interactive,
                            linger=args.linger) else 0
    if args.ws:
        from bot.demo.longconn_chat import chat

        interactive = sys.stdin.isatty()
        if interactive:
            print(f"Talking to the bot over the long connection as {args.user!r}. Ctrl-D quits.")
        return 1 if chat(args.ws, args.user, args.group, _lines(sys.stdin, interactive), sys.stdout,
                         echo=not interactive, linger=args.linger) else 0

    settings = load_settings()
    post = http_poster(args.url) if args.url else local_poster()
    interactive = sys.stdin.isatty()
    if args.aibot:
        from bot.demo.simulate_aibot import AibotSimulator

        sim = AibotSimulator(settings.aibot)

        def say(text: str) -> tuple[int, str]:
            callback = sim.text(args.user, text, chat_id=args.group, bot_name=args.bot_name)
            status, body = post("/wecom/aibot", callback)
            return status, sim.open_reply(body) if status == 200 else body.decode(errors="replace")
    else:
        app_sim = AppSimulator(settings.app, settings.agent_id)

        def say(text: str) -> tuple[int, str]:
            status, body = post("/wecom/callback", app_sim.text(args.user, text))
            return status, app_sim.open_reply(body) if status == 200 else body.decode(errors="replace")

    if interactive:
        print(f"Talking to the bot as {args.user!r}{' in group ' + args.group if args.group else ''}. Ctrl-D quits.")
    failures = converse(_lines(sys.stdin, interactive), say, sys.stdout, echo=not interactive)
    return 1 if failures else 0
