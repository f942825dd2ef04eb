"""Print a scripted conversation with the byte size of every reply, as WeCom would receive it.

    python scripts/transcript.py --redis-url redis://127.0.0.1:6379/14            # private (the app)
    python scripts/transcript.py --redis-url redis://127.0.0.1:6379/14 --group G   # the AI bot in group G

Drives the app in this process through the same signed, encrypted callbacks WeCom posts (the
simulators in ``bot.demo``), as a new user each run (a corp id of its own); nothing is flushed or deleted (use a
database of your own all the same: the run leaves its user behind). Messages the bot queues for the
private chat (details asked for in a group) are printed after the reply.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from bot.config import load_settings
from bot.demo.simulate_aibot import AibotSimulator
from bot.demo.simulate_app import AppSimulator
from bot.infra.redis_conn import connect
from bot.outbound.entry import OutboxMessage
from bot.outbound.queue import OUTBOX_QUEUE
from bot.web.app import create_app

SCRIPT = ["开始", "勾选 1", "详情", "进度", "下一步", "原始ID在哪里看", "人工", "认证要多久"]
ENV = {"WECOM_CORP_ID": "wwtranscript00001", "WECOM_AGENT_ID": "1000002", "WECOM_APP_SECRET": "transcript",
       "WECOM_TOKEN": "transcripttoken", "WECOM_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
       "WECOM_AIBOT_TOKEN": "aibottoken", "WECOM_AIBOT_ENCODING_AES_KEY": "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut",
       "SUPPORT_STAFF": "staff1", "WECOM_WEBHOOK_KEY": "transcript", "LOG_LEVEL": "WARNING"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--group", help="speak in this group through the AI-bot callback")
    parser.add_argument("--user", default="lin")
    parser.add_argument("--default-script", action="store_true", help="the built-in script, not stdin")
    args = parser.parse_args(argv)
    client = connect(args.redis_url)
    user = args.user
    corp = f"wwtranscript{secrets.token_hex(3)}"  # a corp of its own: the user starts from the beginning
    settings = load_settings({**ENV, "WECOM_CORP_ID": corp, "REDIS_URL": args.redis_url,
                              "BOT_DATA_DIR": "/tmp/weda-transcript"})
    app = create_app(settings, client=client).test_client()
    app_sim, aibot_sim = AppSimulator(settings.app, settings.agent_id), AibotSimulator(settings.aibot)
    lines = SCRIPT if args.default_script or sys.stdin.isatty() else sys.stdin
    for text in (line.strip() for line in lines if line.strip()):
        queued_before = {OutboxMessage.from_json(raw).id for raw in client.lrange(OUTBOX_QUEUE, 0, -1)}
        if args.group:
            callback = aibot_sim.text(user, text, chat_id=args.group)
            reply = aibot_sim.open_reply(app.post("/wecom/aibot", query_string=callback.query,
                                                  data=callback.body).get_data())
        else:
            callback = app_sim.text(user, text)
            reply = app_sim.open_reply(app.post("/wecom/callback", query_string=callback.query,
                                                data=callback.body).get_data())
        print(f"you> {text}")
        print(f"{reply}\n[{len(reply.encode())} bytes]")
        for raw in client.lrange(OUTBOX_QUEUE, 0, -1):
            message = OutboxMessage.from_json(raw)
            if message.id not in queued_before and message.to_user == user and message.meta.get("private"):
                print(f"(privately to {message.to_user}: {len(message.text.encode())} bytes)")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
