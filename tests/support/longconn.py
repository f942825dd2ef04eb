"""The AI bot's long connection in tests: its credentials, delays cut to fractions of a second, and holders
run on threads that are all stopped at the end."""

from __future__ import annotations

import threading

from bot.channels.longconn.holder import Holder
from bot.config import longconn_settings

BOT_ID, SECRET = "bot-test-1", "bot-secret-1"
FAST = {"WS_PING_INTERVAL": "0.2", "WS_ACK_TIMEOUT": "0.5", "WS_BACKOFF_BASE": "0.05", "WS_BACKOFF_MAX": "0.3",
        "WS_THROTTLED_WAIT": "0.6", "WS_LEADER_TTL": "1", "WS_KICKED_HOLD": "30"}


class Holders:
    """Starts holders on threads and stops every one it started."""

    def __init__(self, settings, client) -> None:
        self.settings, self.client = settings, client
        self.started: list[tuple[Holder, threading.Thread, dict]] = []

    def start(self, settings=None, identity: str | None = None) -> tuple[Holder, dict]:
        settings = settings or self.settings
        holder = Holder(settings, self.client, longconn_settings(settings), identity=identity, poll=0.05)
        result: dict = {}
        thread = threading.Thread(target=lambda: result.update(code=holder.run()), daemon=True)
        thread.start()
        self.started.append((holder, thread, result))
        return holder, result

    def stop_all(self) -> None:
        for holder, thread, _ in self.started:
            holder.stop()
            thread.join(timeout=5)
