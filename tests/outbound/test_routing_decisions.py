"""One routing decision: what producers are told before they write a message is what the router then does.

"Can staff be reached", "how is a staff notice addressed", "can a notice of a user's news reach a group"
and "can the app message a user on its own" are answered by ``bot.outbound.routing`` alone; the
handlers (through ``bot.wiring.services``), the reminders and the notices ask it, and the sender's router
carries what they wrote, for every combination of channels a deployment can have.
"""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.core.guide import Guide
from bot.core.records import Event
from bot.core.render import Renderer
from bot.core.store import Store
from bot.demo.simulate_app import AppSimulator
from bot.outbound.routing import STAFF, Undeliverable, app_sends, group_notices_on, staff_address, staff_reachable
from bot.outbound.sender import Sender
from bot.web.app import create_app
from bot.wiring.services import wecom_api
from bot.worker.reminders.config import ReminderConfig
from bot.worker.reminders.context import ReminderContext
from bot.worker.reminders.outgoing import staff_call
from tests.support.environment import TEST_CORP_ID, make_env

WS = {"WECOM_BOT_ID": "bot-1", "WECOM_BOT_SECRET": "bot-secret"}
DEPLOYMENTS = {  # SUPPORT_STAFF=staff1 in every one (tests.support.make_env)
    "no staff channel": {},
    "long connection, no staff group": WS,  # notices went nowhere, yet users were told staff knew
    "long connection with a staff group": {**WS, "WECOM_NOTICE_CHATID": "wrStaffGroup"},
    "webhook": {"WECOM_WEBHOOK_KEY": "hook"},
    "app secret": {"WECOM_APP_SECRET": "app-secret"},
    "app secret, nobody named": {"WECOM_APP_SECRET": "app-secret", "SUPPORT_STAFF": ""},
}
NOTIFIED = "已为你转接"  # templates/chat/zh/human.j2, said only when staff hear of it


@pytest.mark.parametrize("overrides", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_a_user_is_told_staff_know_exactly_when_a_staff_notice_can_be_delivered(tmp_path, redis_client, clock,
                                                                                overrides):
    settings = load_settings(make_env(tmp_path, **overrides))
    app = create_app(settings, client=redis_client, clock=clock)
    sim = AppSimulator(settings.app, settings.agent_id, clock=clock)
    callback = sim.text("alice", "人工")
    reply = sim.open_reply(app.test_client().post("/wecom/callback", query_string=callback.query,
                                                  data=callback.body).get_data())
    assert (NOTIFIED in reply) == staff_reachable(settings)

    store = Store(redis_client)
    ctx = ReminderContext(ReminderConfig.from_settings(settings), settings, store, Renderer(settings.templates_dir),
                          Guide.load(settings.guide_file), clock=clock)
    progress = store.load(f"{TEST_CORP_ID}:alice")
    notice = staff_call(ctx, progress, Event("human_requested", {}), "notice-1")
    assert (notice is not None) == staff_reachable(settings)
    if notice is not None:
        assert notice.meta["audience"] == STAFF
        address = staff_address(settings, progress.user_id)
        assert (notice.channel, notice.to_user) == address
        route = Sender(store, wecom_api(settings, redis_client), settings, clock=clock).router.route(notice)
        assert route.channel in ("webhook", "longconn", "app")  # a route, not Undeliverable


@pytest.mark.parametrize("overrides", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_the_app_messages_privately_exactly_when_the_sender_can_use_it(tmp_path, redis_client, overrides):
    settings = load_settings(make_env(tmp_path, **overrides))
    assert app_sends(settings) == wecom_api(settings, redis_client).can_send_app


@pytest.mark.parametrize(("overrides", "on"), [
    ({}, False),  # the webhook's group may not be the user's: no group is reachable
    ({"WECOM_WEBHOOK_KEY": "hook"}, False),
    (WS, True),
    ({**WS, "GROUP_NOTICES": "off"}, False),
])
def test_group_notices_are_on_exactly_when_routing_can_reach_a_users_group(tmp_path, redis_client, clock,
                                                                           overrides, on):
    settings = load_settings(make_env(tmp_path, **overrides))
    assert group_notices_on(settings) is on
    assert ReminderConfig.from_settings(settings).group_notices is on


def test_a_staff_notice_addressed_nowhere_would_be_a_dead_letter(tmp_path, redis_client, clock):
    """The reason producers ask first: the router has no staff channel to give such a message."""
    from bot.outbound.entry import WEBHOOK, OutboxMessage

    settings = load_settings(make_env(tmp_path, **WS))
    assert staff_address(settings, "alice") is None
    router = Sender(Store(redis_client), wecom_api(settings, redis_client), settings, clock=clock).router
    with pytest.raises(Undeliverable):
        router.route(OutboxMessage(WEBHOOK, "x", to_user="alice", meta={"audience": STAFF}))
