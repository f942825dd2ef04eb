"""Each outbound channel declares WeCom's limits for it as data: formats with byte limits, and rates."""

from __future__ import annotations

from bot.channels.wecom.api import WeComAPI
from bot.config import load_settings
from bot.core.store import Store
from bot.outbound.channel import MARKDOWN, TEMPLATE_CARD, TEXT
from bot.outbound.config import SenderConfig
from bot.outbound.entry import APP, OutboxMessage
from bot.outbound.sender import Sender
from tests.support.environment import make_env
from tests.support.longconn import BOT_ID, SECRET
from tests.support.outbound import make_sender


def _declared(sender: Sender) -> dict[str, tuple[dict[str, int | None], list[tuple[int, float, str]]]]:
    return {name: ({f.msgtype: f.max_bytes for f in channel.spec.formats},
                   [(r.count, r.window, r.per) for r in channel.spec.rates])
            for name, channel in sender.channels.items()}


def test_channels_declare_wecoms_formats_and_rates(tmp_path, redis_client, clock):
    settings = load_settings(make_env(tmp_path, WECOM_APP_SECRET="s", WECOM_WEBHOOK_KEY="k",
                                      WECOM_BOT_ID=BOT_ID, WECOM_BOT_SECRET=SECRET))
    declared = _declared(make_sender(settings, redis_client, clock))
    assert declared == {
        "app": ({TEXT: 2048, MARKDOWN: 2048, TEMPLATE_CARD: None}, [(30, 61.0, "member"), (1000, 3601.0, "member")]),
        "webhook": ({TEXT: 2048, MARKDOWN: 4096, TEMPLATE_CARD: None}, [(20, 61.0, "robot")]),
        "response_url": ({MARKDOWN: 20480, TEMPLATE_CARD: None}, []),
        "longconn": ({MARKDOWN: 20480, TEMPLATE_CARD: None}, [(30, 61.0, "chat"), (1000, 3601.0, "chat")]),
    }  # windows: a minute or an hour plus RATE_MARGIN (1 s)


def test_the_app_counts_every_member_of_a_multi_user_message(settings, redis_client, clock):
    api = WeComAPI(settings.wecom_api_base, redis_client, corp_id=settings.corp_id, secret="s",
                   agent_id=settings.agent_id)
    app = Sender(Store(redis_client), api, settings, SenderConfig.from_settings(settings), clock=clock).channels[APP]
    keys = [limit.key for limit in app.limits(OutboxMessage(APP, "x", to_user="staff1|staff2"), None)]
    assert keys == ["{wb}:rl:app:staff1:m", "{wb}:rl:app:staff1:h", "{wb}:rl:app:staff2:m", "{wb}:rl:app:staff2:h"]
