"""A bot with every channel configured at once — the app, the group robot webhook, the AI-bot callback and the
long connection — against the fake WeCom servers, and a user's idle reminder run by hand.

Fixtures, registered by name in the test modules that import them (``fixture_env`` is the fixture ``env``).
"""

from __future__ import annotations

import pytest

from bot.core.guide import Guide
from bot.core.render import Renderer
from bot.core.store import Store
from bot.outbound.entry import USER
from bot.outbound.queue import OUTBOX_QUEUE
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.jobs import IDLE, job_id, run_job
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.fake_wecom import FakeWeCom
from tests.support.longconn import BOT_ID, FAST, SECRET, Holders
from tests.support.outbound import make_sender


@pytest.fixture(name="wecom")
def fixture_wecom(clock):
    with FakeWeCom(clock=clock) as server:
        yield server


@pytest.fixture(name="ws")
def fixture_ws():
    from bot.demo.fake_longconn import FakeLongConn

    server = FakeLongConn(BOT_ID, SECRET).start()
    yield server
    server.stop()


@pytest.fixture(name="env")
def fixture_env(tmp_path, wecom, ws) -> dict[str, str]:
    """Every channel at once: the app, the webhook, the AI-bot callback and the long connection."""
    return make_env(tmp_path, WECOM_API_BASE=wecom.base_url, WECOM_APP_SECRET="app-secret",
                    WECOM_WEBHOOK_KEY=wecom.webhook_key, WECOM_HTTP_TIMEOUT="1", QUIET_HOURS="off",
                    WECOM_BOT_ID=BOT_ID, WECOM_BOT_SECRET=SECRET, WECOM_WS_URL=ws.url, **FAST)


@pytest.fixture(name="holder")
def fixture_holder(settings, redis_client, ws):
    group = Holders(settings, redis_client)
    group.start()
    assert ws.wait(lambda: ws.subscribes == 1)
    yield
    group.stop_all()


def ws_say(ws, user: str, text: str, chat_id: str | None = None) -> None:
    msgid = ws.send_text(user, text, chat_id=chat_id)
    assert ws.wait(lambda: ws.answers(msgid))


@pytest.fixture(name="remind")
def fixture_remind(settings, redis_client, clock):
    """Run the user's idle reminder now, as the scheduler would, and deliver what it queued."""
    store = Store(redis_client)
    ctx = ReminderContext(ReminderConfig.from_settings(settings), settings, store, Renderer(settings.templates_dir),
                          Guide.load(settings.guide_file), clock=clock)
    sender = make_sender(settings, redis_client, clock)

    def _remind(user: str, stage: int = 0) -> list[str]:
        user_key = f"{TEST_CORP_ID}:{user}"
        progress = store.load(user_key)
        token = {"step": progress.step, "at": progress.last_seen, "stage": stage, "due": clock()}
        redis_client.delete(OUTBOX_QUEUE)  # the pipeline's own follow-ups are not what is tested here
        outcome = run_job(ctx, job_id(IDLE, user_key), user_key, IDLE, token)
        assert [m.channel for m in outcome.messages] == [USER]  # to the user: routing picks the channel
        return sender.drain()

    return _remind
