"""Replies fit a chat window: measured in the group through the AI-bot callback, as WeCom would show them.

Targets (issue 15): 开始 and 下一步 <= 1,200 bytes, 进度 <= 800, 勾选 N <= 500; the full checklist,
warnings and links come on "详情" (and its button), privately when the app can reach the user.
"""

from __future__ import annotations

import pytest

from bot.demo.simulate_aibot import AibotSimulator
from tests.support.phrases import CERTIFICATION_PASSED, SUBMITTED_CERTIFICATION, TICK_ITEM_1
from tests.support.reply_targets import CHECK_MAX, NEXT_MAX, START_MAX, STATUS_MAX

GROUP = "wrSizeGroup01"


@pytest.fixture
def env(tmp_path):
    """The app can send on its own (an app secret): details asked for in a group go to the private chat."""
    from tests.support.environment import make_env

    return make_env(tmp_path, WECOM_APP_SECRET="app-secret")


@pytest.fixture
def group_say(client, settings, clock):
    sim = AibotSimulator(settings.aibot, clock=clock)

    def _say(user: str, text: str, chat_id: str | None = GROUP) -> str:
        callback = sim.text(user, text, chat_id=chat_id)
        response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return sim.open_reply(response.get_data())

    return _say


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_group_replies_are_within_the_targets_on_every_step(group_say):
    """Walk all six steps in the group; every reply to 开始 / 下一步 / 进度 / 勾选 N stays in its budget."""
    sizes: dict[str, list[int]] = {"开始": [], "下一步": [], "进度": [], "勾选": []}
    sizes["开始"].append(size(group_say("amy", "开始")))
    for _step in range(1, 7):
        sizes["进度"].append(size(group_say("amy", "进度")))
        for n in (1, 2):
            sizes["勾选"].append(size(group_say("amy", f"勾选 {n}")))
        if _step == 3:
            group_say("amy", SUBMITTED_CERTIFICATION)
            sizes["下一步"].append(size(group_say("amy", CERTIFICATION_PASSED)))
        else:
            sizes["下一步"].append(size(group_say("amy", "下一步")))
    print({name: max(values) for name, values in sizes.items()})  # docs/replies.md quotes these (pytest -s)
    assert max(sizes["开始"]) <= START_MAX, sizes
    assert max(sizes["下一步"]) <= NEXT_MAX, sizes
    assert max(sizes["进度"]) <= STATUS_MAX, sizes
    assert max(sizes["勾选"]) <= CHECK_MAX, sizes


def test_short_reply_names_the_one_next_action_and_a_progress_line(group_say):
    reply = group_say("ben", "开始")
    assert "☐ 1." in reply and "☐ 2." not in reply  # the next item, not the whole checklist
    assert "⚠️" not in reply  # the warnings are in the details
    assert "详情" in reply
    assert "0/6" in reply  # the compact progress of the checklist
    ticked = group_say("ben", TICK_ITEM_1)
    assert "☑" in ticked and "☐ 2." in ticked and "☐ 3." not in ticked
    assert "1/6" in ticked


def test_details_show_the_full_checklist_warnings_and_links(say):
    say("开始", user="cat")
    details = say("详情", user="cat")
    for n in range(1, 7):
        assert f"☐ {n}." in details
    assert "⚠️" in details and "https://open.weixin.qq.com/" in details


def test_details_in_the_group_go_to_the_private_chat_when_the_app_can_reach_the_user(group_say, runtime):
    from bot.outbound.entry import OutboxMessage
    from bot.outbound.queue import OUTBOX_QUEUE

    group_say("dan", "开始")
    public = group_say("dan", "详情")
    assert "私信" in public and "☐ 2." not in public
    assert size(public) <= CHECK_MAX
    queued = [OutboxMessage.from_json(raw) for raw in runtime.redis.lrange(OUTBOX_QUEUE, 0, -1)]
    private = [m for m in queued if m.to_user == "dan" and m.meta.get("private")]
    assert len(private) == 1
    assert "☐ 6." in private[0].text and "⚠️" in private[0].text


def test_details_stay_in_the_group_when_no_private_channel_exists(tmp_path, redis_client, clock):
    from bot.config import load_settings
    from bot.web.app import create_app
    from tests.support.environment import make_env

    settings = load_settings(make_env(tmp_path))  # no WECOM_APP_SECRET: the app cannot send on its own
    app = create_app(settings, client=redis_client, clock=clock)
    sim = AibotSimulator(settings.aibot, clock=clock)

    def say(text: str) -> str:
        callback = sim.text("eva", text, chat_id=GROUP)
        response = app.test_client().post("/wecom/aibot", query_string=callback.query, data=callback.body)
        return sim.open_reply(response.get_data())

    say("开始")
    details = say("详情")
    assert "☐ 6." in details and "私信" not in details


def test_the_details_button_is_offered_where_the_channel_has_buttons(client, settings, clock):
    sim = AibotSimulator(settings.aibot, clock=clock)
    callback = sim.text("fay", "开始", chat_id=GROUP)
    response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
    doc = sim.open_reply_json(response.get_data())
    keys = [b["key"] for b in doc["template_card"]["button_list"]]
    assert "details" in keys
