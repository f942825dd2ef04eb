"""The worker in this process: the leader sweeps stranded outbox entries, ``main`` gets its Redis client
from bot.wiring.services."""

from __future__ import annotations

import threading
import time

from bot.config import load_settings
from bot.outbound.queue import PROCESSING
from tests.support.environment import make_env
from tests.support.outbound import idle_reminder


def test_the_leader_sweeps_stranded_messages_while_it_leads(tmp_path, redis_client, wecom):
    from bot.worker.process import Worker

    settings = load_settings(make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="app-secret",
                                      SEND_SWEEP_SECONDS="0.2", SEND_CLAIM_TTL="0.3", SENDER_THREADS="1"))
    worker = Worker(settings, redis_client, identity="sweeper")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 10
        while not any(t.name == "sender-0" for t in threading.enumerate()) and time.time() < deadline:
            time.sleep(0.02)  # leading, start-up recovery done
        time.sleep(0.2)
        message = idle_reminder("left behind")
        redis_client.lpush(PROCESSING, message.to_json())  # a live sender lost Redis before its fate's MULTI
        deadline = time.time() + 5
        while not wecom.delivered() and time.time() < deadline:
            time.sleep(0.05)
        assert [r.content for r in wecom.delivered()] == ["left behind"]
    finally:
        worker.stop()
        thread.join(timeout=10)


def test_worker_main_gets_its_client_from_services(monkeypatch, settings, redis_client):
    import bot.cli.process
    import bot.wiring.services
    import bot.worker.process

    used = []
    monkeypatch.setattr(bot.cli.process, "load_settings", lambda: settings)  # what every process's main reads
    monkeypatch.setattr(bot.wiring.services, "redis_client", lambda s: used.append(s) or redis_client)

    class FakeWorker:
        def __init__(self, settings, client) -> None:
            assert client is redis_client

        def run(self) -> int:
            return 0

        def stop(self) -> None:
            pass

    monkeypatch.setattr(bot.worker.process, "Worker", FakeWorker)
    monkeypatch.setattr(bot.cli.process.signal, "signal", lambda *_args: None)
    assert settings.redis_url  # before the fix, a REDIS_URL bypassed bot.wiring.services
    assert bot.worker.process.main([]) == 0
    assert used == [settings]
