"""``python -m bot chat --image FILE``: send a screenshot through the signed app callback and print the answer.

Everything runs in this process, as in production but without WeCom: the callback acknowledges the image,
the OCR reader takes the ``image_received`` event from Redis, "fetches" the picture (from the file instead
of ``media/get``), reads it and hands the text off; the answerer (a web process's job) answers it through the
pipeline; the answer is taken from the outbox and printed (instead of being sent).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TextIO

from bot.core.keys import OUTBOX_QUEUE
from bot.demo.simulate_app import AppSimulator
from bot.ocr.fetch import ImageRef


class FileSource:
    """media ids are file names: the demo's stand-in for WeCom's media/get."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}

    def add(self, path: Path) -> str:
        media_id = f"demo-{uuid.uuid4().hex[:12]}"
        self.files[media_id] = path
        return media_id

    def fetch(self, ref: ImageRef) -> bytes:
        return self.files[ref.media_id].read_bytes()


def chat_image(paths: list[str], user: str, out: TextIO) -> int:
    from bot.ocr.answers import Answerer
    from bot.ocr.engine import Engine
    from bot.ocr.reader import OcrWorker
    from bot.web.app import create_app, runtime_of

    app = create_app()
    runtime = runtime_of(app)
    settings = runtime.settings
    client = app.test_client()
    source = FileSource()
    reader = OcrWorker(settings, runtime.redis, Engine(settings.ocr_threads), source, consumer="demo-chat")
    reader.ensure_group()
    answerer = Answerer(runtime.redis, runtime.pipeline, consumer="demo-chat")
    answerer.ensure_group()
    sim = AppSimulator(settings.app, settings.agent_id)
    failures = 0
    for name in paths:
        path = Path(name)
        if not path.is_file():
            out.write(f"[no such file: {name}]\n")
            failures += 1
            continue
        callback = sim.image(user, source.add(path))
        out.write(f"you> [image {path.name}]\n")
        response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
        out.write(f"{sim.open_reply(response.get_data())}\n\n")
        for future in reader.poll(block_ms=5000):
            future.result(timeout=120)
        answerer.poll(block_ms=None)
        out.write(_take_answers(runtime.redis, user) + "\n\n")
        out.flush()
    return 1 if failures else 0


def _take_answers(redis_client, user: str) -> str:
    """The OCR answers queued for ``user`` (taken off the outbox: there is no WeCom to send them to)."""
    texts = []
    for raw in redis_client.lrange(OUTBOX_QUEUE, 0, -1):
        message = json.loads(raw)
        if message.get("to_user") == user and str(message.get("id", "")).startswith("ocr-"):
            texts.append(message["text"])
            redis_client.lrem(OUTBOX_QUEUE, 1, raw)
    return "\n".join(reversed(texts)) or "(no answer)"
