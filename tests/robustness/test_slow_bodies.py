"""Slow request bodies are dropped at BODY_DEADLINE_SECONDS while callbacks are answered (the deployed gunicorn).

bench/slow_clients.py measures the same with 3,000 slow connections.
"""

from __future__ import annotations

import socket
import time

import requests

from bot.config import load_settings
from bot.demo.simulate_app import AppSimulator
from tests.support.environment import make_env
from tests.support.servers import Gunicorn

DEADLINE = 1.0


def _slow_body(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /wecom/callback?msg_signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 500\r\n\r\na")  # one byte of 500, then nothing
    return sock


def test_a_body_not_received_in_time_is_dropped_and_callbacks_are_answered(tmp_path, redis_client):
    env = make_env(tmp_path, LOG_LEVEL="WARNING", BODY_DEADLINE_SECONDS=str(DEADLINE), RATE_LIMIT_PER_MINUTE="0")
    settings = load_settings(env)
    bot = Gunicorn({**env, "WEB_WORKER_CONNECTIONS": "100"}, workers=1).start(tmp_path / "gunicorn.log")
    try:
        opened = time.monotonic()
        slow = [_slow_body(bot.port) for _ in range(20)]
        sim = AppSimulator(settings.app, settings.agent_id)
        callback = sim.text("vic", "开始")
        answer = requests.post(bot.url + "/wecom/callback", params=callback.query, data=callback.body, timeout=5)
        assert answer.status_code == 200 and sim.open_reply(answer.content)
        closed = []
        for sock in slow:
            reply = sock.recv(4096)
            closed.append(time.monotonic() - opened)
            assert reply == b"" or reply.startswith(b"HTTP/1.1 408"), reply[:80]
            sock.close()
        assert max(closed) < DEADLINE + 3, closed  # dropped at the deadline (with room for a loaded machine)
        assert min(closed) >= DEADLINE * 0.9, closed
    finally:
        bot.stop()
    assert "request body not received within" in (tmp_path / "gunicorn.log").read_text()
