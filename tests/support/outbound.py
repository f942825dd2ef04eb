"""The outbox sender as the worker builds it, pointed at the test settings, and the idle reminder tests queue."""

from __future__ import annotations

from dataclasses import replace

from bot.channels.wecom.api import WeComAPI
from bot.core.store import Store
from bot.outbound.config import SenderConfig
from bot.outbound.entry import APP, OutboxMessage
from bot.outbound.sender import Sender
from tests.support.environment import TEST_CORP_ID


def make_sender(settings, client, clock, **overrides) -> Sender:
    config = replace(SenderConfig.from_settings(settings), **overrides)
    api = WeComAPI(settings.wecom_api_base, client, corp_id=settings.corp_id, secret=settings.app_secret,
                   agent_id=settings.agent_id, timeout=config.http_timeout)
    return Sender(Store(client), api, settings, config, clock=clock)


def idle_reminder(text: str = "**提醒**", user: str = "alice", **meta) -> OutboxMessage:
    """An idle reminder to ``user`` through the app, markdown with its plain variant."""
    return OutboxMessage(APP, text, to_user=user, fmt="markdown",
                         meta={"plain": text.replace("**", ""), "user_key": f"{TEST_CORP_ID}:{user}",
                               "kind": "reminder_idle", **meta})
