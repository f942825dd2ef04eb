"""微信客服: the callback, pulling with a durable cursor, replies through kf/send_msg and WeCom's limits,
hand-off to WeCom's reception — against the local fake 微信客服 (bot.demo.fake_kf), which refuses as documented."""

from __future__ import annotations

import json
import threading

import pytest

from bot.channels.kf import protocol as kf_protocol
from bot.channels.kf.api import ENDED, HUMAN, NEW
from bot.core import conversation
from bot.core.keys import DEAD_LETTERS, kf_cursor_key, kf_done_key, kf_media_key, kf_pull_lock_key
from bot.outbound.entry import USER, OutboxMessage
from bot.outbound.queue import add as outbox_add
from tests.support.kf import ACCOUNT, build_bot, fixture_fake, fixture_kf  # noqa: F401 - the fixtures fake and kf
from tests.support.phrases import HANDED_TO_A_PERSON, HOW_LONG_CERTIFICATION_TAKES

ALICE = "wmAliceExternal01"


def user_key(user: str = ALICE) -> str:
    return kf_protocol.user_key(ACCOUNT, user)


def sends_for(fake, user: str = ALICE) -> list:
    return [s for s in fake.sent if s.path == "kf/send_msg" and s.body.get("touser") == user]


def dead_letters(redis_client) -> list[dict]:
    return [json.loads(raw) for raw in redis_client.lrange(DEAD_LETTERS, 0, -1)]


# -- the callback -----------------------------------------------------------------------------------------------
def test_the_callback_verifies_its_url_and_refuses_a_bad_signature(kf, fake):
    cb = fake.callback()
    query = dict(cb.query)
    encrypted, signature, timestamp = fake.envelope.encrypt("echo-123", query["nonce"])
    client = kf.app.test_client()
    ok = client.get("/wecom/kf", query_string={"msg_signature": signature, "timestamp": timestamp,
                                               "nonce": query["nonce"], "echostr": encrypted})
    assert (ok.status_code, ok.data) == (200, b"echo-123")
    query["msg_signature"] = "0" * 40
    assert client.post("/wecom/kf", query_string=query, data=cb.body).status_code == 403
    assert client.post("/wecom/kf", query_string=cb.query, data=b"<xml><nope/></xml>").status_code == 400


def test_the_callback_is_404_when_kf_is_not_configured(tmp_path, redis_client, clock, fake):
    from bot.config import load_settings
    from bot.web.app import create_app
    from tests.support.environment import make_env

    app = create_app(load_settings(make_env(tmp_path)), client=redis_client, clock=clock)
    cb = fake.callback()
    assert app.test_client().post(f"/wecom/kf?{cb.query_string}", data=cb.body).status_code == 404


def test_a_customer_message_gets_one_reply_through_send_msg_with_our_msgid(kf, fake):
    shown = kf.say(ALICE, "开始")
    assert len(shown) == 1 and "第1步" in shown[0]
    (sent,) = sends_for(fake)
    msgid = sent.body["msgid"]
    assert len(msgid.encode()) <= 32 and kf_protocol._MSGID_UNSAFE.search(msgid) is None
    assert sent.body["open_kfid"] == ACCOUNT


def test_the_callback_answers_while_the_pull_is_still_under_way(kf, fake, redis_client):
    fake.customer_text(ALICE, "开始")
    reading, release = threading.Event(), threading.Event()

    def hold(_account: str) -> None:
        reading.set()
        release.wait(10)

    kf.puller.before_cursor_save = hold
    response = kf.post_event()
    assert response.status_code == 200 and response.data == b""
    assert reading.wait(10)  # the pull read a page after the answer went back; it is held there now
    assert redis_client.get(kf_cursor_key(ACCOUNT)) is None
    release.set()
    kf.settle()
    assert len(sends_for(fake)) == 1


# -- pulling ------------------------------------------------------------------------------------------------------
def test_pages_with_has_more_and_empty_pages_are_all_read_and_the_cursor_is_kept(tmp_path, fake, redis_client,
                                                                                  clock):
    kf = build_bot(tmp_path, fake, redis_client, clock, KF_SYNC_LIMIT="2")
    users = [f"wmUser{i:02d}" for i in range(5)]
    for user in users:
        fake.customer_text(user, "开始")
    fake.empty_pages = 2  # WeCom answers an empty list with has_more=1 now and then
    kf.post_event()
    kf.settle()
    assert all(len(sends_for(fake, user)) == 1 for user in users)
    assert redis_client.get(kf_cursor_key(ACCOUNT)) == "c5"
    calls = len(fake.sync_calls)
    kf.say(users[0], "进度")  # the next pull starts at the cursor: one page, one new message
    assert fake.sync_calls[calls].get("cursor") == "c5"


def test_duplicate_callbacks_answer_each_message_once(kf, fake):
    fake.customer_text(ALICE, "开始")
    for _ in range(3):
        kf.post_event()
    kf.settle()
    kf.post_event()
    kf.settle()
    assert len(sends_for(fake)) == 1


def test_two_concurrent_pulls_neither_read_a_page_twice_nor_skip_one(tmp_path, fake, redis_client, clock):
    first = build_bot(tmp_path / "a", fake, redis_client, clock, KF_SYNC_LIMIT="3")
    second = build_bot(tmp_path / "b", fake, redis_client, clock, KF_SYNC_LIMIT="3")
    users = [f"wmConc{i:02d}" for i in range(12)]
    for user in users:
        fake.customer_text(user, "开始")
    go = threading.Barrier(4)

    def event(bot) -> None:
        go.wait()
        bot.post_event()

    threads = [threading.Thread(target=event, args=(bot,)) for bot in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first.settle()
    second.settle()
    first.sender.drain()
    assert sorted(len(sends_for(fake, user)) for user in users) == [1] * len(users)
    assert redis_client.get(kf_cursor_key(ACCOUNT)) == "c12"


class Killed(BaseException):
    """The process dies here (nothing below the hook runs; no except clause of ours catches it)."""


def test_a_kill_between_reading_a_page_and_saving_the_cursor_loses_nothing_and_repeats_nothing(kf, fake,
                                                                                                redis_client):
    users = [f"wmKill{i:02d}" for i in range(4)]
    for user in users:
        fake.customer_text(user, "开始")

    def die(_account: str) -> None:
        raise Killed()

    kf.puller.before_cursor_save = die
    with pytest.raises(Killed):
        kf.puller.pull(ACCOUNT)
    assert redis_client.get(kf_cursor_key(ACCOUNT)) is None  # the page was read, the cursor not saved
    # The crash also came before the done markers of two messages were written (their replies committed):
    for msg in fake.log[ACCOUNT][:2]:
        redis_client.delete(kf_done_key(ACCOUNT, msg["msgid"]))
    redis_client.delete(kf_pull_lock_key(ACCOUNT))  # a killed process's lock: its TTL frees it
    kf.puller.before_cursor_save = None
    kf.post_event()
    kf.settle()
    assert sorted(len(sends_for(fake, user)) for user in users) == [1, 1, 1, 1]
    assert redis_client.get(kf_cursor_key(ACCOUNT)) == "c4"


def test_an_expired_sync_token_is_dropped_and_the_pull_goes_on(kf, fake, clock):
    fake.customer_text(ALICE, "开始")
    fake.callback()
    (token,) = fake.sync_tokens
    clock.advance(11 * 60)  # the Token is valid 10 minutes (a pull that started late, a slow worker's sweep)
    kf.puller.request(ACCOUNT, token)
    kf.puller.pull(ACCOUNT)
    kf.sender.drain()
    assert len(sends_for(fake)) == 1
    assert fake.sync_calls[0].get("token") and "token" not in fake.sync_calls[-1]


def test_a_stale_cursor_reads_again_from_the_oldest_message_without_answering_twice(kf, fake, redis_client, clock):
    kf.say(ALICE, "开始")
    clock.advance(4 * 86400)  # WeCom keeps messages 3 days: the saved cursor points before them
    fake.customer_text("wmBob", "开始")
    fake._sync({"open_kfid": ACCOUNT, "token": None})  # the fake forgets old messages
    redis_client.set(kf_cursor_key(ACCOUNT), "c0")
    kf.post_event()
    kf.settle()
    assert len(sends_for(fake, "wmBob")) == 1 and len(sends_for(fake)) == 1


# -- sending: WeCom's window and session state ----------------------------------------------------------------
def _reminder(redis_client, n: int, user: str = ALICE) -> None:
    outbox_add(redis_client, OutboxMessage(USER, f"提醒 {n}", to_user=user, id=f"rem-{user}-{n}",
                                           meta={"user_key": user_key(user), "kind": "reminder_idle",
                                                 "plain": f"提醒 {n}"}))


def test_reminders_go_inside_the_window_and_the_sixth_message_is_window_closed(kf, fake, redis_client):
    kf.say(ALICE, "开始")  # the reply is the first of five
    for n in range(5):
        _reminder(redis_client, n)
    kf.sender.drain()
    assert [s.text for s in sends_for(fake)][1:] == ["提醒 0", "提醒 1", "提醒 2", "提醒 3"]
    dead = dead_letters(redis_client)
    assert len(dead) == 1 and dead[0]["id"] == f"rem-{ALICE}-4" and "window closed" in dead[0]["meta"]["error"]
    assert all(s.ok for s in fake.sent)  # our limit, not WeCom's refusal
    (note,) = [e for e in conversation.recent(redis_client, user_key()) if e.get("by") == "window closed"]
    assert note["reply"] == "提醒 4"  # the operator's conversation view says it did not go out
    assert len(kf.say(ALICE, "进度")) == 1  # the customer writes: a new window, the bot answers


def test_a_follow_up_after_48_hours_is_not_sent(kf, fake, redis_client, clock):
    kf.say(ALICE, "开始")
    clock.advance(48 * 3600 + 1)
    _reminder(redis_client, 1)
    kf.sender.drain()
    assert len(sends_for(fake)) == 1
    assert "window closed" in dead_letters(redis_client)[0]["meta"]["error"]


def test_wecom_refusing_a_send_for_its_limit_shows_as_window_closed(kf, fake, redis_client):
    kf.say(ALICE, "开始")
    fake.windows[(ACCOUNT, ALICE)]["sent"] = 5  # WeCom counted more than we did
    _reminder(redis_client, 1)
    kf.sender.drain()
    assert sends_for(fake)[-1].errcode == 95001
    assert "window closed" in dead_letters(redis_client)[0]["meta"]["error"]


def test_enter_session_welcomes_once_within_48_hours(kf, fake, clock):
    fake.enter_session(ALICE)
    kf.post_event()
    kf.settle()
    clock.advance(3600)
    fake.enter_session(ALICE)
    kf.post_event()
    kf.settle()
    welcomes = [s for s in fake.sent if s.path == "kf/send_msg_on_event"]
    assert len(welcomes) == 1 and welcomes[0].ok
    assert welcomes[0].body["msgtype"] == "msgmenu"  # the welcome's step buttons


def test_a_menu_click_comes_back_as_a_reading(kf, fake):
    fake.enter_session(ALICE)
    kf.post_event()
    kf.settle()
    (welcome,) = [s for s in fake.sent if s.path == "kf/send_msg_on_event"]
    start = next(item for item in welcome.menu if "开始" in item["content"] or item["id"] == "start")
    shown = kf.say(ALICE, start["content"], menu_id=start["id"])
    assert len(shown) == 1 and "第1步" in shown[0]


def test_an_image_keeps_its_media_id_and_is_acknowledged_for_reading(kf, fake, redis_client):
    kf.fake.customer_image(ALICE, "MEDIA_ID_1")
    kf.post_event()
    kf.settle()
    assert "收到截图" in fake.texts(ALICE)[-1]  # read by the OCR process: tests/channels/test_images.py
    (kept,) = [json.loads(raw) for raw in redis_client.lrange(kf_media_key(user_key()), 0, -1)]
    assert kept["media_id"] == "MEDIA_ID_1" and redis_client.ttl(kf_media_key(user_key())) > 0


def test_msg_send_fail_turns_the_sent_message_into_a_dead_letter(kf, fake, redis_client):
    kf.say(ALICE, "开始")
    msgid = sends_for(fake)[0].body["msgid"]
    fake.send_fail(ALICE, msgid)
    kf.post_event()
    kf.settle()
    (dead,) = dead_letters(redis_client)
    assert "msg_send_fail" in dead["meta"]["error"] and dead["to_user"] == ALICE


# -- hand-off to WeCom's reception ------------------------------------------------------------------------------
def test_handoff_moves_the_session_and_the_bot_keeps_quiet_but_records_both_sides(tmp_path, fake, redis_client,
                                                                                  clock):
    kf = build_bot(tmp_path, fake, redis_client, clock, SUPPORT_STAFF="recep1")
    kf.say(ALICE, "开始")
    kf.say(ALICE, "完成")
    (line,) = kf.say(ALICE, "人工")
    assert HANDED_TO_A_PERSON in line and "\n" not in line.strip()
    assert fake.state_of(ALICE) == HUMAN and fake.sessions[(ACCOUNT, ALICE)]["servicer"] == "recep1"
    assert kf.say(ALICE, HOW_LONG_CERTIFICATION_TAKES) == []  # a person has the session: nothing from the bot
    fake.receptionist_text(ALICE, "recep1", "大约10分钟")
    kf.post_event()
    kf.settle()
    assert [s for s in fake.sent if s.path == "kf/send_msg" and not s.ok] == []  # it never even tried
    texts = [(e.get("text"), e.get("reply"), e.get("by")) for e in conversation.recent(redis_client, user_key())]
    assert (HOW_LONG_CERTIFICATION_TAKES, "", None) in texts and ("", "大约10分钟", "receptionist recep1") in texts
    fake.end_session(ALICE)
    kf.post_event()
    kf.settle()
    assert fake.state_of(ALICE) == ENDED
    shown = kf.say(ALICE, "进度")
    assert fake.state_of(ALICE) in (NEW, 1) and len(shown) == 1
    assert "第2步" in shown[0] and "转接" not in shown[0]


def test_without_a_receptionist_the_handoff_goes_to_the_pool(tmp_path, fake, redis_client, clock):
    kf = build_bot(tmp_path, fake, redis_client, clock, SUPPORT_STAFF="")
    kf.say(ALICE, "开始")
    (line,) = kf.say(ALICE, "人工")
    assert "排队" in line and fake.state_of(ALICE) == 2
    assert kf.say(ALICE, "还在吗") == []


def test_a_receptionist_message_is_recorded_never_answered(kf, fake, redis_client):
    kf.say(ALICE, "开始")
    fake.receptionist_text(ALICE, "recep9", "你好，我是客服")
    kf.post_event()
    kf.settle()
    assert len(sends_for(fake)) == 1
    assert any(e.get("by") == "receptionist recep9" for e in conversation.recent(redis_client, user_key()))


def test_a_pull_that_died_is_made_good_by_the_sweep(kf, fake, redis_client):
    fake.customer_text(ALICE, "开始")
    kf.puller.request(ACCOUNT, "")  # the event was noted, then the process died before pulling
    assert kf.puller.pending() == [ACCOUNT]
    kf.puller.sweep()
    kf.sender.drain()
    assert len(sends_for(fake)) == 1 and kf.puller.pending() == []


def test_the_operator_hand_off_page_shows_kf_sessions_and_their_state(tmp_path, fake, redis_client, clock):
    kf = build_bot(tmp_path, fake, redis_client, clock, SUPPORT_STAFF="recep1", ADMIN_TOKEN="admin-token-123")
    kf.say(ALICE, "开始")
    kf.say(ALICE, "人工")
    client = kf.app.test_client()
    auth = {"Authorization": "Bearer admin-token-123"}
    data = client.get("/admin/api/handoffs", headers=auth).get_json()
    (row,) = data["kf_sessions"]
    assert (row["customer"], row["state"], row["servicer"]) == (ALICE, HUMAN, "recep1")
    page = client.get("/admin/handoffs", headers=auth).get_data(as_text=True)
    assert "微信客服 sessions" in page and "with a receptionist" in page


def test_while_a_person_has_the_session_a_reminder_is_not_sent(tmp_path, fake, redis_client, clock):
    kf = build_bot(tmp_path, fake, redis_client, clock, SUPPORT_STAFF="recep1")
    kf.say(ALICE, "开始")
    kf.say(ALICE, "人工")
    _reminder(redis_client, 1)
    kf.sender.drain()
    assert [s.text for s in sends_for(fake)][-1].startswith("好的，正在为你转接")
    (dead,) = dead_letters(redis_client)
    assert "session state 3" in dead["meta"]["error"]


def test_a_recalled_message_is_recorded(kf, fake, redis_client):
    msgid = fake.customer_text(ALICE, "我的AppSecret是这个")
    kf.post_event()
    kf.settle()
    fake.recall(ALICE, msgid)
    kf.post_event()
    kf.settle()
    assert any(msgid in (e.get("text") or "") and e.get("by") == "recall"
               for e in conversation.recent(redis_client, user_key()))


def test_a_kf_customer_is_never_reached_through_another_channel(tmp_path, fake, redis_client, clock):
    """A reminder for a customer who spoke through 微信客服 goes there or nowhere — not the app, not a group."""
    from bot.core.store import Store
    from bot.outbound.config import SenderConfig
    from bot.outbound.sender import Sender
    from bot.wiring.services import wecom_api

    kf = build_bot(tmp_path, fake, redis_client, clock, WECOM_APP_SECRET="app-secret", WECOM_WEBHOOK_KEY="hook")
    kf.say(ALICE, "开始")
    settings = kf.runtime.settings
    no_kf = Sender(Store(redis_client), wecom_api(settings, redis_client), settings.__class__(
        **{**settings.__dict__, "kf": settings.kf.__class__("", "", settings.corp_id)}),
        SenderConfig.from_settings(settings), clock=clock)
    _reminder(redis_client, 1)
    no_kf.drain()
    (dead,) = dead_letters(redis_client)
    assert "only kf/send_msg reaches them" in dead["meta"]["error"]


def test_the_user_page_shows_receptionist_lines_and_unsent_follow_ups(tmp_path, fake, redis_client, clock):
    kf = build_bot(tmp_path, fake, redis_client, clock, ADMIN_TOKEN="admin-token-123")
    kf.say(ALICE, "开始")
    fake.receptionist_text(ALICE, "recep9", "客服来了")
    kf.post_event()
    kf.settle()
    clock.advance(49 * 3600)
    _reminder(redis_client, 7)
    kf.sender.drain()
    page = kf.app.test_client().get(f"/admin/users/{user_key()}",
                                    headers={"Authorization": "Bearer admin-token-123"}).get_data(as_text=True)
    assert "— receptionist recep9 —" in page and "客服来了" in page
    assert "— window closed —" in page and "提醒 7" in page


def test_a_second_message_before_the_transfer_went_out_does_not_transfer_again(tmp_path, fake, redis_client, clock):
    kf = build_bot(tmp_path, fake, redis_client, clock, SUPPORT_STAFF="recep1")
    kf.say(ALICE, "开始")
    for text in ("人工", "快点"):  # both pulled before the sender sends anything
        fake.customer_text(ALICE, text)
        kf.post_event()
        assert kf.puller.wait(20)
    kf.sender.drain()
    transfers = [s for s in fake.sent if s.path == "kf/service_state/trans"]
    assert len(transfers) == 1
    assert sum("转接" in t for t in fake.texts(ALICE)) == 1


CHILD = """
import os, signal, sys
from bot.web.app import create_app, runtime_of
from bot.config import load_settings
from bot.infra.redis_conn import connect

settings = load_settings()
app = create_app(settings, client=connect(settings.redis_url))
puller = runtime_of(app).kf_callback.puller
puller.before_cursor_save = lambda _account: os.kill(os.getpid(), signal.SIGKILL)
puller.pull(sys.argv[1])
"""


def test_a_process_killed_between_reading_a_page_and_saving_the_cursor(tmp_path, fake, redis_client, clock):
    """A real ``kill -9`` of a pulling process: its page was read and handled, the cursor never saved."""
    import subprocess
    import sys

    from tests.support.kf import kf_env

    users = [f"wmKill9{i:02d}" for i in range(5)]
    for user in users:
        fake.customer_text(user, "开始")
    env = {**kf_env(tmp_path / "child", fake), "PATH": "/usr/bin:/bin"}
    child = subprocess.run([sys.executable, "-c", CHILD, ACCOUNT], env=env, timeout=300, capture_output=True)
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    assert redis_client.get(kf_cursor_key(ACCOUNT)) is None
    assert redis_client.get(kf_pull_lock_key(ACCOUNT))  # the dead process's lock...
    redis_client.delete(kf_pull_lock_key(ACCOUNT))  # ...which its TTL (30 s) would free
    kf = build_bot(tmp_path, fake, redis_client, clock)
    kf.post_event()
    kf.settle()
    assert sorted(len(sends_for(fake, user)) for user in users) == [1] * len(users)
    assert redis_client.get(kf_cursor_key(ACCOUNT)) == "c5"


def test_wecom_refusing_a_send_for_the_session_state_is_a_dead_letter_with_the_reason(kf, fake, redis_client):
    kf.say(ALICE, "开始")
    fake.sessions[(ACCOUNT, ALICE)]["state"] = HUMAN  # a receptionist took it; no event has reached us yet
    _reminder(redis_client, 1)
    kf.sender.drain()
    assert sends_for(fake)[-1].errcode == 95018
    assert "session not with the bot" in dead_letters(redis_client)[0]["meta"]["error"]
