"""No message about a user reaches a group without them: two customer groups and a private user.

Every channel is configured at once (the app, the group robot webhook as the staff channel, the long
connection). Ann writes in group A, Bob in group B, Cai only privately. Each completes steps, asks for a
person and gets a reminder; the real planner turns their events into notices, the real sender delivers
everything, and what each group received is read off the fake long-connection server.
"""

from __future__ import annotations

from tests.support.all_channels import (  # noqa: F401 - fixtures env, holder, remind, wecom, ws
    fixture_env,
    fixture_holder,
    fixture_remind,
    fixture_wecom,
    fixture_ws,
    ws_say,
)
from tests.support.outbound import make_sender
from tests.support.reminders import Harness

GROUP_A, GROUP_B = "grp-company-a", "grp-company-b"


def _mentions(text: str) -> set[str]:
    return {name for name in ("ann", "bob", "cai") if f"<@{name}>" in text or name in text}


def test_no_message_about_a_user_reaches_a_group_without_them(holder, ws, wecom, remind, settings,
                                                               redis_client, clock):
    harness = Harness(settings, redis_client, clock)
    try:
        ws_say(ws, "ann", "开始", chat_id=GROUP_A)
        ws_say(ws, "ann", "完成")  # in her private chat: group A (hers) hears of it
        ws_say(ws, "bob", "开始", chat_id=GROUP_B)
        ws_say(ws, "bob", "完成", chat_id=GROUP_B)  # in his group: the reply there is the one announcement
        ws_say(ws, "cai", "开始")
        ws_say(ws, "cai", "完成")
        harness.pump()
        assert "dead" not in make_sender(settings, redis_client, clock).drain()  # the notices
        for user in ("ann", "bob", "cai"):
            assert remind(user) == ["sent"]
        ws_say(ws, "bob", "人工", chat_id=GROUP_B)  # a call for a person: staff hear of it
        ws_say(ws, "cai", "人工")
        harness.pump()
        assert "dead" not in make_sender(settings, redis_client, clock).drain()
    finally:
        harness.close()

    members = {GROUP_A: {"ann"}, GROUP_B: {"bob"}}
    group_pushes = [p for p in ws.pushes if p["chatid"] in members]
    for push in group_pushes:
        assert _mentions(push["markdown"]["content"]) <= members[push["chatid"]], push
    assert [p["chatid"] for p in group_pushes] == [GROUP_A]  # ann's step, once; bob's news was the reply
    assert "<@ann>" in group_pushes[0]["markdown"]["content"] and "第1步" in group_pushes[0]["markdown"]["content"]
    assert all(p["chatid"] in ("ann", "bob", "cai", GROUP_A) for p in ws.pushes)
    # Each reminder goes to its own user's private chat.
    for user in ("ann", "bob", "cai"):
        private = [p["markdown"]["content"] for p in ws.pushes if p["chatid"] == user]
        assert private and all(_mentions(text) <= {user} for text in private)
    # The webhook (the staff channel) carries the staff calls only, bob's and cai's, nothing else.
    posted = [r.content for r in wecom.delivered("webhook/send")]
    assert len(posted) == 2 and all("staff1" in text for text in posted)
    assert {frozenset(_mentions(text)) for text in posted} == {frozenset({"bob"}), frozenset({"cai"})}
