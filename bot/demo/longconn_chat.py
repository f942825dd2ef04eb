"""``python -m bot chat --ws``: talk to the bot through the demo's fake WeCom long connection.

The fake (started by ``python -m bot serve`` in demo mode) plays the WeCom client: each line you type
becomes a message to the bot over the long connection, and everything the bot sends you comes back —
its replies, and what it pushes on its own (certification follow-ups, idle nudges, notices to your
group), printed as ``[push]`` whenever it arrives.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

DEFAULT_URL = "ws://127.0.0.1:8765"
_LABELS = {"reply": "", "welcome": "[welcome] ", "push": "[push] "}


def chat(url: str, user: str, group: str | None, lines: Iterable[str], out: TextIO, *, echo: bool,
         reply_timeout: float = 15.0, linger: float = 0.0) -> int:
    """Send each line and print the reply; print pushes as they come. Returns the number of unanswered lines."""
    query = {"userid": user, **({"chatid": group} if group else {})}
    replies: queue.Queue[str] = queue.Queue()
    lock = threading.Lock()

    def show(kind: str, text: str) -> None:
        with lock:
            out.write(f"{_LABELS.get(kind, '')}{text}\n\n")
            out.flush()

    with connect(f"{url.rstrip('/')}/user?{urlencode(query)}", open_timeout=10) as ws:
        def receive() -> None:
            try:
                for raw in ws:
                    doc = json.loads(raw)
                    show(doc.get("type", ""), doc.get("text", ""))
                    if doc.get("type") == "reply":
                        replies.put(doc.get("text", ""))
            except ConnectionClosed:
                pass

        threading.Thread(target=receive, name="chat-receive", daemon=True).start()
        missing = 0
        for line in lines:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            if echo:
                with lock:
                    out.write(f"you> {text}\n")
            ws.send(json.dumps({"text": text}, ensure_ascii=False))
            try:
                replies.get(timeout=reply_timeout)
            except queue.Empty:
                missing += 1
                show("reply", f"(no reply within {reply_timeout:.0f} s — is `python -m bot serve` running?)")
        time.sleep(linger)  # follow-ups pushed after the last line still show up
    return missing
