"""Shared fixtures: real Redis (flushed per test), settings, a controllable clock, the app, a fake WeCom."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.demo.simulate_aibot import AibotSimulator
from bot.demo.simulate_app import AppSimulator
from bot.infra.redis_conn import connect
from bot.web.app import create_app, runtime_of
from tests.support.environment import FakeClock, flush, make_env, redis_target_for_tests, stop_embedded
from tests.support.fake_wecom import FakeWeCom


def pytest_sessionfinish(session, exitstatus):
    stop_embedded()  # no redis-server of ours outlives the run


@pytest.fixture
def redis_client():
    client = connect(redis_target_for_tests())
    flush(client)
    yield client
    flush(client)


@pytest.fixture(scope="session")
def understander():
    """The understanding model of this checkout's data (trained once per test run)."""
    from bot.understand.factory import build_understander

    return build_understander()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wecom(clock):
    """WeCom's API on loopback, recording what the bot sends (point ``WECOM_API_BASE`` at ``wecom.base_url``)."""
    with FakeWeCom(clock=clock) as server:
        yield server


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return make_env(tmp_path)


@pytest.fixture
def settings(env):
    return load_settings(env)


@pytest.fixture
def app(settings, redis_client, clock):
    app = create_app(settings, client=redis_client, clock=clock)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def runtime(app):
    return runtime_of(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_sim(settings, clock) -> AppSimulator:
    return AppSimulator(settings.app, settings.agent_id, clock=clock)


@pytest.fixture
def aibot_sim(settings, clock) -> AibotSimulator:
    return AibotSimulator(settings.aibot, clock=clock)


@pytest.fixture
def say(client, app_sim):
    """Send a text as ``user`` through the signed, encrypted app callback; return the reply text."""

    def _say(text: str, user: str = "alice") -> str:
        callback = app_sim.text(user, text)
        response = client.post("/wecom/callback", query_string=callback.query, data=callback.body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return app_sim.open_reply(response.get_data())

    return _say


@pytest.fixture
def admin(client):
    """A logged-in operator's test client (the module's ``env`` sets ADMIN_TOKEN); ``admin.csrf`` is the
    session's CSRF token."""
    from tests.support.admin import csrf_of, login

    assert login(client).status_code == 303
    client.csrf = csrf_of(client.get("/admin/users").get_data(as_text=True))
    return client
