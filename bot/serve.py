"""``python -m bot serve``: start everything a newcomer needs on one machine.

Resolves Redis (REDIS_URL, else an embedded Redis whose data lives in the data folder), then runs
the web processes (gunicorn) and the scheduler worker as children sharing that Redis, and stops
them together.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time

from bot.config import ConfigError, Settings, load_settings


def check(argv: list[str] | None = None) -> int:
    """Validate settings and every data file and template the bot loads; print what is wrong."""
    import jinja2
    import yaml

    try:
        settings = load_settings()
        from bot.guide import Guide
        from bot.render import Renderer
        from bot.services import load_knowledge

        Guide.load(settings.guide_file)
        from bot.config import longconn_settings

        longconn_settings(settings)  # WECOM_BOT_ID / WECOM_BOT_SECRET together, WECOM_WS_URL ws:// or wss://
        knowledge = load_knowledge(settings)
        from bot.understand.check import unreadable_prompts
        from bot.understand.factory import build_understander

        understander = build_understander(knowledge)  # validates data/understanding and trains the model
        env = Renderer(settings.templates_dir).env
        for name in env.list_templates():
            env.get_template(name)  # compiles: a syntax error names the file and line
        unread = unreadable_prompts(settings.templates_dir, understander)
        if unread:
            raise ValueError("templates tell users to type phrases the bot does not understand: "
                             + "; ".join(f"{name}: 「{phrase}」 reads as {got}" for name, phrase, got in unread))
    except (ConfigError, ValueError, KeyError, re.error, yaml.YAMLError, jinja2.TemplateError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"ok: {'demo mode' if settings.demo else 'WeCom corp ' + settings.corp_id}, "
          f"{len(knowledge.topics)} FAQ topics")
    return 0


def _banner(settings: Settings, port: int) -> str:
    lines = [f"WeDa registration bot on http://127.0.0.1:{port}  (health: /healthz)"]
    if settings.demo:
        lines += [
            "DEMO MODE: no WeCom credentials in the environment; throwaway ones were generated:",
            f"  app callback  URL /wecom/callback  Token {settings.app.token}  "
            f"EncodingAESKey {settings.app.encoding_aes_key}  CorpID {settings.corp_id}",
            f"  AI bot        URL /wecom/aibot     Token {settings.aibot.token}  "
            f"EncodingAESKey {settings.aibot.encoding_aes_key}",
            f"  try it:  python -m bot chat --url http://127.0.0.1:{port}",
        ]
    return "\n".join(lines)


def _start_demo_longconn(settings: Settings, env: dict[str, str]):
    """Demo mode: a local fake WeCom long-connection endpoint (DEMO_WS_PORT), and the bot pointed at it."""
    from bot.config import DEMO_BOT_ID, demo_bot_secret
    from bot.fake_longconn import FakeLongConn

    port = int(env.get("DEMO_WS_PORT") or 8765)
    try:
        fake = FakeLongConn(DEMO_BOT_ID, demo_bot_secret(settings), port=port).start()
    except OSError as exc:
        print(f"demo long connection not started (port {port}: {exc.strerror}); set DEMO_WS_PORT", file=sys.stderr)
        return None
    env["WECOM_WS_URL"] = fake.url
    return fake


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot serve")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--no-worker", action="store_true", help="do not start the scheduler worker")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2

    env = dict(os.environ)
    embedded = None
    if not settings.redis_url:
        from bot.redis_conn import embedded_url, start_embedded

        embedded = start_embedded(settings.data_dir)
        env["REDIS_URL"] = embedded_url(embedded)
        print(f"embedded Redis: data in {settings.data_dir} (set REDIS_URL to use your own)")
    env.setdefault("BOT_DATA_DIR", str(settings.data_dir))

    web = [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b", f"{args.host}:{args.port}",
           "--timeout", "30", "--access-logfile", "-", "bot.app:create_app()"]
    fake_ws = _start_demo_longconn(settings, env) if settings.demo else None
    children = [subprocess.Popen(web, env=env)]
    if not args.no_worker:
        children.append(subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env))
    if fake_ws is not None or env.get("WECOM_BOT_ID"):
        children.append(subprocess.Popen([sys.executable, "-m", "bot", "connect"], env=env))
    print(_banner(settings, args.port), flush=True)
    if fake_ws is not None:
        print(f"  long connection: a local fake WeCom on {fake_ws.url}, the bot connected to it\n"
              f"  try it:  python -m bot chat --ws   (prints what the bot pushes, e.g. follow-ups)", flush=True)

    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        stop(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.shutdown(save=True) if hasattr(embedded, "shutdown") else None
    return max((child.returncode or 0) for child in children) if not stopping else 0
