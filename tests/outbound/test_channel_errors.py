"""A channel says why a part did not go out in the sender's terms (``ChannelError``), not WeCom's.

The WeCom channels translate ``WeComError`` (``bot.channels.wecom.failures``); the sender knows only the neutral
type, so a channel that is not WeCom's plugs in without teaching the sender another platform's errors.
"""

from __future__ import annotations

import inspect
from dataclasses import replace

import pytest

from bot.channels.wecom.api import PERMANENT, RATE_LIMITED, SYSTEM_BUSY, WeComError
from bot.channels.wecom.failures import as_channel_error
from bot.config import load_settings
from bot.core.store import Store
from bot.outbound import sender as sender_module
from bot.outbound.channel import ChannelError
from bot.outbound.config import SenderConfig
from bot.outbound.entry import APP, LONGCONN, RESPONSE_URL, WEBHOOK, OutboxMessage
from bot.outbound.sender import Sender
from bot.wiring.services import wecom_api
from tests.support.environment import make_env

NOWHERE = "http://127.0.0.1:9/cgi-bin/"  # the discard port: nothing answers


@pytest.mark.parametrize(("error", "permanent", "rate_limited", "refused"), [
    (WeComError("timeout"), False, False, False),  # may have been delivered
    (WeComError("busy", SYSTEM_BUSY), False, False, False),
    (WeComError("too often", RATE_LIMITED), False, True, False),
    (WeComError("bad user", min(PERMANENT)), True, False, True),
    (WeComError("used url", 600001), False, False, True),  # answered, took nothing: another channel may try
])
def test_a_wecom_failure_keeps_its_meaning(error, permanent, rate_limited, refused):
    failure = as_channel_error(error)
    assert (failure.permanent, failure.rate_limited, failure.refused) == (permanent, rate_limited, refused)
    assert failure.retryable is not permanent and str(failure) == str(error)


def test_the_sender_knows_no_wecom_error():
    assert "WeComError" not in inspect.getsource(sender_module)


@pytest.mark.parametrize("channel", [APP, WEBHOOK, RESPONSE_URL, LONGCONN])
def test_every_wecom_channel_raises_a_channel_error(tmp_path, redis_client, clock, channel):
    settings = load_settings(make_env(tmp_path, WECOM_API_BASE=NOWHERE, WECOM_APP_SECRET="s", WECOM_WEBHOOK_KEY="k",
                                      WECOM_BOT_ID="bot", WECOM_BOT_SECRET="secret", WECOM_HTTP_TIMEOUT="0.2"))
    config = replace(SenderConfig.from_settings(settings), http_timeout=0.2)
    sender = Sender(Store(redis_client), wecom_api(settings, redis_client), settings, config, clock=clock)
    target = {RESPONSE_URL: "https://elsewhere.example/hook", LONGCONN: "alice"}.get(channel)
    with pytest.raises(ChannelError) as raised:
        sender.channels[channel].send(OutboxMessage(channel, "x", to_user="alice"), target, "text", "x")
    assert not isinstance(raised.value, WeComError)
    assert isinstance(raised.value.__cause__, WeComError)
