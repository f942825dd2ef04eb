"""A bot with only 微信客服 configured, wired to the local fake 微信客服 (bot.demo.fake_kf), and what drives it:
the customer writes in the fake, the fake posts its signed ``kf_msg_or_event`` to ``/wecom/kf``, the bot
pulls in the background, the worker's sender delivers through ``kf/send_msg``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bot.config import CallbackCredentials, load_settings
from bot.core.store import Store
from bot.demo.fake_kf import FakeKf
from bot.outbound.config import SenderConfig
from bot.outbound.sender import Sender
from bot.web.app import create_app, runtime_of
from bot.wiring.services import wecom_api
from tests.support.environment import TEST_CORP_ID, make_env

KF_TOKEN = "kfTokenForTests0123456789"
KF_AES_KEY = "kfAesKeyForTests0123456789abcdefghijklmnopq"
KF_SECRET = "kf-secret-for-tests"
ACCOUNT = "wkTestAccount01"
APP_AND_BOT_VARS = ("WECOM_TOKEN", "WECOM_ENCODING_AES_KEY", "WECOM_AIBOT_TOKEN", "WECOM_AIBOT_ENCODING_AES_KEY",
                    "WECOM_AGENT_ID")


def kf_env(tmp_path, fake: FakeKf, *, only_kf: bool = True, **overrides: str) -> dict[str, str]:
    env = make_env(tmp_path, WECOM_KF_SECRET=KF_SECRET, WECOM_KF_TOKEN=KF_TOKEN,
                   WECOM_KF_ENCODING_AES_KEY=KF_AES_KEY, WECOM_API_BASE=fake.base_url,
                   **{"KF_SWEEP_SECONDS": "0", **overrides})
    if only_kf:
        for name in APP_AND_BOT_VARS:
            env.pop(name, None)
    return env


def new_fake(clock) -> FakeKf:
    return FakeKf(CallbackCredentials(KF_TOKEN, KF_AES_KEY, TEST_CORP_ID), clock=clock, open_kfid=ACCOUNT)


@dataclass
class KfBot:
    """The web app and the worker's sender of one bot, and the fake 微信客服 they talk to."""

    fake: FakeKf
    app: Any
    sender: Sender

    @property
    def runtime(self):
        return runtime_of(self.app)

    @property
    def puller(self):
        return self.runtime.kf_callback.puller

    def post_event(self) -> Any:
        """WeCom's callback: the response (the pull runs afterwards, in the background)."""
        cb = self.fake.callback()
        return self.app.test_client().post(f"/wecom/kf?{cb.query_string}", data=cb.body)

    def settle(self) -> None:
        """Wait for the background pulls, then let the sender deliver what is ready."""
        assert self.puller.wait(20), "background pull did not finish"
        self.sender.drain()

    def say(self, user: str, text: str, **kwargs: Any) -> list[str]:
        """The customer writes; returns what they were shown since."""
        before = len(self.fake.texts(user))
        self.fake.customer_text(user, text, **kwargs)
        response = self.post_event()
        assert response.status_code == 200, response.data
        self.settle()
        return self.fake.texts(user)[before:]


def build_bot(tmp_path, fake: FakeKf, redis_client, clock, **env_overrides: str) -> KfBot:
    settings = load_settings(kf_env(tmp_path, fake, **env_overrides))
    app = create_app(settings, client=redis_client, clock=clock)
    app.config["TESTING"] = True
    sender = Sender(Store(redis_client), wecom_api(settings, redis_client), settings,
                    SenderConfig.from_settings(settings), clock=clock)
    return KfBot(fake, app, sender)


@pytest.fixture(name="fake")
def fixture_fake(clock):
    """The fake 微信客服 on a local port (the fixture ``fake``)."""
    with new_fake(clock) as fake:
        yield fake


@pytest.fixture(name="kf")
def fixture_kf(tmp_path, fake, redis_client, clock) -> KfBot:
    """A bot with only 微信客服 configured, wired to ``fake`` (the fixture ``kf``)."""
    return build_bot(tmp_path, fake, redis_client, clock)
