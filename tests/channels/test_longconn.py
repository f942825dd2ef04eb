"""The AI bot's long connection against a fake WeCom long-connection server on loopback.

The holder (``bot.channels.longconn.holder.Holder``) runs on a thread with the real pipeline and real Redis; the fake
(``bot.demo.fake_longconn``) speaks WeCom's frames and injects the faults. Every delay (ping, ack timeout,
backoff, 45009 wait, lock TTL) is set to a fraction of a second, so nothing here sleeps for long.
Only ``WECOM_BOT_ID`` / ``WECOM_BOT_SECRET`` reach WeCom: no app secret, no webhook.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from websockets.sync.client import connect as ws_connect

from bot.channels.longconn import protocol as wire
from bot.channels.longconn.client import LongConnClient
from bot.channels.longconn.holder import EXIT_AUTH, EXIT_KICKED
from bot.channels.longconn.outbound import TRANSPORT
from bot.channels.wecom.api import WeComAPI
from bot.config import load_settings, longconn_settings
from bot.core.keys import longconn_holder_key, longconn_kicked_key
from bot.core.store import Store, progress_key
from bot.demo.fake_longconn import FakeLongConn
from bot.outbound.config import SenderConfig
from bot.outbound.entry import APP, OutboxMessage
from bot.outbound.queue import DEAD_LETTERS
from bot.outbound.queue import add as outbox_add
from bot.outbound.sender import Sender
from bot.worker.process import Worker
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.longconn import BOT_ID, FAST, SECRET, Holders
from tests.support.phrases import SUBMITTED_CERTIFICATION

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake():
    server = FakeLongConn(BOT_ID, SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path, fake) -> dict[str, str]:
    return make_env(tmp_path, WECOM_BOT_ID=BOT_ID, WECOM_BOT_SECRET=SECRET, WECOM_WS_URL=fake.url, **FAST)


@pytest.fixture
def holders(settings, redis_client):
    group = Holders(settings, redis_client)
    yield group
    group.stop_all()


@pytest.fixture
def holder(holders, fake):
    started, _ = holders.start()
    assert fake.wait(lambda: fake.subscribes == 1)
    return started


def _progress(redis_client, user: str):
    from bot.core.progress import Progress

    raw = redis_client.get(progress_key(f"{TEST_CORP_ID}:{user}"))
    return Progress.from_json(raw) if raw else None


def _sender(settings, redis_client, **overrides) -> Sender:
    config = replace(SenderConfig.from_settings(settings), http_timeout=1.0, **overrides)
    api = WeComAPI(settings.wecom_api_base, redis_client, corp_id=settings.corp_id, secret=None,
                   agent_id=settings.agent_id, timeout=1.0)
    return Sender(Store(redis_client), api, settings, config)


# -- the conversation ----------------------------------------------------------------------------------------
def test_private_message_is_answered_as_a_stream_under_the_callbacks_req_id(holder, fake):
    msgid = fake.send_text("alice", "开始")
    assert fake.wait(lambda: fake.answers(msgid))
    (answer,) = fake.answers(msgid)  # the fake accepts an answer only under the req_id it pushed with
    assert answer["cmd"] == wire.RESPOND
    assert answer["body"]["msgtype"] in ("stream", "stream_with_template_card")
    assert answer["body"]["stream"]["finish"] is True
    assert "第1步" in answer["body"]["stream"]["content"]
    assert _progress(holder.redis, "alice").last_chat["transport"] == TRANSPORT


def test_group_message_has_the_mention_stripped_and_the_user_addressed(holder, fake, redis_client):
    fake.send_text("bob", "开始", chat_id="grp-1")
    msgid = fake.send_text("bob", "进度", chat_id="grp-1")
    assert fake.wait(lambda: fake.answers(msgid))
    content = fake.answer_text(msgid)
    assert content.startswith("<@bob>\n") and "你的注册进度" in content  # "@助手 进度" understood as 进度
    progress = _progress(redis_client, "bob")
    assert progress.last_chat == {"transport": TRANSPORT, "chat_type": "group", "chat_id": "grp-1"}


def test_enter_chat_gets_the_welcome_on_its_own_command(holder, fake):
    msgid = fake.send_event("carol", "enter_chat")
    assert fake.wait(lambda: fake.answers(msgid))
    (answer,) = fake.answers(msgid)
    assert answer["cmd"] == wire.RESPOND_WELCOME
    assert answer["body"]["msgtype"] == "text" and "微搭服务商注册助手" in answer["body"]["text"]["content"]


def test_card_click_updates_the_card_and_the_answer_is_pushed_once(holder, fake, settings, redis_client):
    first = fake.send_text("gus", "开始", chat_id="grp-1")
    assert fake.wait(lambda: fake.answers(first))
    for _ in range(2):  # WeCom redelivers the same click (same msgid)
        click = fake.send_event("gus", "template_card_event", chat_id="grp-1", card_type="button_interaction",
                                event_key="done", task_id="wbt-abc", msgid="click-1")
    assert fake.wait(lambda: len(fake.answers(click)) == 2)
    update = fake.answers(click)[0]
    assert fake.answers(click)[1]["body"] == update["body"]
    assert update["cmd"] == wire.RESPOND_UPDATE
    assert update["body"]["response_type"] == "update_template_card"
    assert update["body"]["template_card"]["task_id"] == "wbt-abc"
    assert _progress(redis_client, "gus").step == 2
    sender = _sender(settings, redis_client)
    sender.drain()
    assert len(fake.pushes) == 1  # both deliveries queued the same answer id: sent once
    assert fake.pushes[0]["chatid"] == "grp-1" and "第2步" in fake.pushes[0]["markdown"]["content"]


def test_feedback_is_recorded_and_nothing_is_sent(holder, fake, redis_client):
    msgid = fake.send_event("hal", "feedback_event", expects_answer=False, id="wbs-1", type=2)
    assert fake.wait(lambda: any(json.loads(f["event"])["kind"] == "feedback"
                                 for _, f in redis_client.xrange("{wb}:events")))
    time.sleep(0.2)
    assert fake.answers(msgid) == []


def test_malformed_frames_are_dropped_and_the_connection_carries_on(holder, fake):
    for raw in ("not json", "[1, 2]", '{"cmd": "aibot_msg_callback"}', '{"headers": {"req_id": 5}}',
                wire.frame(wire.MSG_CALLBACK, "r1", {"msgid": "x", "msgtype": "text"}),  # no from.userid
                wire.frame(wire.MSG_CALLBACK, "r2"),  # no body
                wire.frame(wire.EVENT_CALLBACK, "r3", {"msgid": "y", "from": {"userid": "u" * 300}}),
                wire.frame("aibot_something_new", "r4", {})):
        fake.send_raw(raw)
    msgid = fake.send_text("nia", "帮助")
    assert fake.wait(lambda: fake.answers(msgid))
    assert fake.subscribes == 1  # never dropped the link over bad input
    fake.send_raw("x" * (wire.MAX_FRAME_BYTES + 1))  # over the frame size cap: websockets closes (1009) ...
    assert fake.wait(lambda: fake.subscribes == 2)  # ... and the bot is back by itself
    msgid = fake.send_text("nia", "进度")
    assert fake.wait(lambda: fake.answers(msgid))


def test_lone_surrogates_drop_a_frame_with_a_log_line_or_are_replaced_in_text(holder, fake, caplog):
    """An id that is not text: the frame is dropped, said in one log line, no traceback. Text: answered."""
    bad_id = fake.send_text("oli", "帮助", msgid="bad\ud800id")
    bad_user = fake.send_text("ol\udfffi", "帮助")
    bad_chat = fake.send_text("oli", "帮助", chat_id="grp\ud800")
    fine = fake.send_text("oli", "开始\ud800 \x1b[2J")
    assert fake.wait(lambda: fake.answers(fine))
    assert fake.answers(bad_id) == fake.answers(bad_user) == fake.answers(bad_chat) == []
    assert not [r for r in caplog.records if r.exc_info]
    assert sum("rejected" in r.getMessage() for r in caplog.records) >= 3
    assert "\x1b" not in fake.answer_text(fine)


def test_chat_ws_prints_the_replies_and_what_the_bot_pushes(holder, fake, settings, redis_client):
    import io

    from bot.demo.longconn_chat import chat

    out = io.StringIO()
    sender = _sender(settings, redis_client)

    def push_later() -> None:
        fake.wait(lambda: "第1步" in out.getvalue())
        outbox_add(redis_client, _reminder("olga", "⏰ 认证结果如何？"))
        sender.drain()

    pusher = threading.Thread(target=push_later, daemon=True)
    pusher.start()
    missing = chat(fake.url, "olga", None, ["开始"], out, echo=True, linger=1.5)
    pusher.join(timeout=5)
    text = out.getvalue()
    assert missing == 0
    assert "[welcome] " in text and "you> 开始" in text and "第1步" in text
    assert "[push] ⏰ 认证结果如何？" in text


# -- link faults ---------------------------------------------------------------------------------------------
def test_the_client_itself_comes_back_after_a_clean_close_and_a_cut(fake, settings):
    """Not the holder's restart: the client's own loop (the official SDK 1.0.2 stays dead after a 1000)."""
    async def ignore(_doc) -> None:
        return None

    client = LongConnClient(longconn_settings(settings), ignore)
    running: dict = {}

    async def main() -> None:
        running["loop"], running["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await client.run(running["stop"])
        running["returned"] = True

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    try:
        assert fake.wait(lambda: fake.subscribes == 1)
        fake.close(1000)
        assert fake.wait(lambda: fake.subscribes == 2)
        fake.cut()
        assert fake.wait(lambda: fake.subscribes == 3)
        assert fake.wait(lambda: client.connects == 3)  # counted once the client read the ack
        assert "returned" not in running
    finally:
        running["loop"].call_soon_threadsafe(running["stop"].set)
        thread.join(timeout=5)
    assert running.get("returned")


@pytest.mark.parametrize("fault", ["cut", "clean close"])
def test_link_lost_mid_conversation_loses_nothing_and_answers_nothing_twice(holder, fake, redis_client, fault):
    ids = [fake.send_text("dan", "开始")]
    assert fake.wait(lambda: fake.answers(ids[0]))
    ids.append(fake.send_text("dan", "完成"))  # in flight when the link goes
    fake.cut() if fault == "cut" else fake.close(1000)
    ids.append(fake.send_text("dan", "完成"))  # sent while the bot is away: delivered after the reconnect
    assert fake.wait(lambda: fake.subscribes == 2), "the bot did not come back by itself"
    assert fake.wait(lambda: all(fake.answers(i) for i in ids))
    time.sleep(0.3)
    assert [len(fake.answers(i)) for i in ids] == [1, 1, 1]
    assert _progress(redis_client, "dan").step == 3  # each 完成 counted once


def test_lost_heartbeats_close_the_link_and_the_bot_reconnects(holder, fake):
    fake.ack_pings = False
    assert fake.wait(lambda: fake.subscribes == 2, timeout=5), "two missed acks must end the link"
    fake.ack_pings = True
    msgid = fake.send_text("erin", "帮助")
    assert fake.wait(lambda: fake.answers(msgid))


def test_45009_on_subscribe_waits_instead_of_storming(holders, fake):
    fake.subscribe_errors = [45009]
    holders.start()
    assert fake.wait(lambda: fake.subscribes == 1, timeout=5)
    attempts = fake.subscribe_attempts
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 0.6  # WS_THROTTLED_WAIT, not the 0.05 s backoff


def test_wrong_secret_is_a_clear_error_and_no_retry(holders, fake, env):
    settings = load_settings({**env, "WECOM_BOT_SECRET": "wrong"})
    _, result = holders.start(settings)
    assert fake.wait(lambda: "code" in result, timeout=5)
    assert result["code"] == EXIT_AUTH
    time.sleep(0.3)
    assert len(fake.subscribe_attempts) == 1 and fake.subscribes == 0


def test_connect_command_exits_non_zero_on_a_wrong_secret(env, fake):
    proc = subprocess.run([sys.executable, "-m", "bot", "connect"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ.get("PATH", ""), **env, "WECOM_BOT_SECRET": "nope"})
    assert proc.returncode == EXIT_AUTH
    assert "refused the Bot ID/Secret" in proc.stderr
    assert "nope" not in proc.stderr  # the secret is never logged


def test_connect_command_refuses_a_half_configuration(tmp_path):
    env = make_env(tmp_path, WECOM_BOT_ID="only-the-id")
    proc = subprocess.run([sys.executable, "-m", "bot", "connect"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={"PATH": os.environ.get("PATH", ""), **env})
    assert proc.returncode == 2 and "WECOM_BOT_SECRET" in proc.stderr


def test_the_connect_command_answers_what_the_ocr_process_read(env, fake, redis_client, tmp_path):
    """A deployment on the long connection alone may run no web process: ``connect`` answers screenshots."""
    from bot.core.keys import OUTBOX_QUEUE
    from tests.support.ocr import a_read, handed_off
    from tests.support.servers import wait_until

    log = open(tmp_path / "connect.log", "w")  # noqa: SIM115 - kept open for the child
    proc = subprocess.Popen([sys.executable, "-m", "bot", "connect"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={"PATH": os.environ.get("PATH", ""), **env, "FAQ_EMBED_IN_BACKGROUND": "0"})
    try:
        handed_off(redis_client, a_read(msg_id="ws-img-1"))
        queued = wait_until(lambda: redis_client.lrange(OUTBOX_QUEUE, 0, -1), timeout=120, what="the answer queued")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    [message] = [json.loads(raw) for raw in queued]
    assert message["id"] == "ocr-app-ws-img-1" and "61004" in message["text"], message


# -- one holder per bot ----------------------------------------------------------------------------------------
def test_kicked_by_a_connection_it_does_not_know_stops_loudly(holders, fake, redis_client, caplog):
    _, result = holders.start(identity="holder-a")
    assert fake.wait(lambda: fake.subscribes == 1)
    with ws_connect(fake.url) as intruder:  # the same bot, connected from outside this deployment
        intruder.send(wire.frame(wire.SUBSCRIBE, "aibot_subscribe_x", {"bot_id": BOT_ID, "secret": SECRET}))
        assert json.loads(intruder.recv(timeout=5))["errcode"] == 0
        assert fake.wait(lambda: "code" in result, timeout=5)
    assert result["code"] == EXIT_KICKED
    assert any("KICKED" in r.getMessage() for r in caplog.records)
    assert redis_client.pttl(longconn_kicked_key(BOT_ID)) > 0
    # a standby of this deployment does not fight back while the marker stands
    holders.start(identity="holder-b")
    time.sleep(0.5)
    assert fake.subscribes == 2  # the intruder's, no new one from us


def test_only_one_of_two_holders_connects(holders, fake, redis_client):
    holders.start(identity="holder-a")
    holders.start(identity="holder-b")
    assert fake.wait(lambda: fake.subscribes == 1)
    time.sleep(0.5)
    assert fake.subscribes == 1
    assert redis_client.get(longconn_holder_key(BOT_ID)) in ("holder-a", "holder-b")


def test_standby_takes_over_when_the_holder_is_killed(env, fake, redis_client, tmp_path):
    procs = []
    child_env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1", **env, "LOG_LEVEL": "INFO"}
    try:
        for name in ("a", "b"):
            log = open(tmp_path / f"connect-{name}.log", "w")  # noqa: SIM115 - kept open for the child
            procs.append(subprocess.Popen([sys.executable, "-m", "bot", "connect"], cwd=ROOT, env=child_env,
                                          stdout=log, stderr=subprocess.STDOUT))
            if name == "a":
                assert fake.wait(lambda: fake.subscribes == 1, timeout=60)
        standby_log = tmp_path / "connect-b.log"  # b is up and standing by (its start is slow under load)
        deadline = time.monotonic() + 60
        while "waiting for the lock" not in standby_log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        assert fake.subscribes == 1
        holder_identity = redis_client.get(longconn_holder_key(BOT_ID))
        assert holder_identity and f":{procs[0].pid}:" in holder_identity
        procs[0].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert fake.wait(lambda: fake.subscribes == 2, timeout=30)
        assert time.monotonic() - killed_at < 5  # WS_LEADER_TTL is 1 s here
        msgid = fake.send_text("fay", "开始")
        assert fake.wait(lambda: fake.answers(msgid), timeout=10)
        assert f":{procs[1].pid}:" in redis_client.get(longconn_holder_key(BOT_ID))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- messages on the bot's own initiative ------------------------------------------------------------------------
def _reminder(user: str, text: str = "认证结果如何？", **meta) -> OutboxMessage:
    return OutboxMessage(APP, text, to_user=user, fmt="markdown",
                         meta={"user_key": f"{TEST_CORP_ID}:{user}", "kind": "reminder_cert_check", **meta})


def test_a_failed_push_is_retried_and_delivered_once(holder, fake, settings, redis_client):
    msgid = fake.send_text("gil", "开始")
    assert fake.wait(lambda: fake.answers(msgid))
    fake.push_errors = [-1]  # WeCom busy, once
    sender = _sender(settings, redis_client, backoff_base=0.05)
    outbox_add(redis_client, _reminder("gil"))
    assert sender.run_once() == "retry"
    assert fake.pushes == []
    time.sleep(0.1)
    assert sender.drain() == ["sent"]
    assert [p["chatid"] for p in fake.pushes] == ["gil"]  # the user's private chat with the bot
    assert sender.drain() == []


def test_a_push_is_retried_across_a_reconnect(holder, fake, settings, redis_client):
    msgid = fake.send_text("hana", "开始")
    assert fake.wait(lambda: fake.answers(msgid))
    fake.subscribe_errors = [-1] * 3  # the link is down for a few attempts
    fake.cut()
    sender = _sender(settings, redis_client, backoff_base=0.2)
    outbox_add(redis_client, _reminder("hana"))
    assert sender.run_once() == "retry"  # the holder says "not connected"
    assert fake.wait(lambda: fake.subscribes == 2, timeout=5)
    deadline = time.monotonic() + 5
    while not fake.pushes and time.monotonic() < deadline:
        sender.run_once()
        time.sleep(0.05)
    assert [p["chatid"] for p in fake.pushes] == ["hana"]


def test_a_refused_push_is_dead_lettered_with_the_reason(holder, fake, settings, redis_client):
    msgid = fake.send_text("ivy", "开始")
    assert fake.wait(lambda: fake.answers(msgid))
    fake.push_errors = [40003]  # invalid user: no retry fixes it
    sender = _sender(settings, redis_client)
    outbox_add(redis_client, _reminder("ivy"))
    assert sender.run_once() == "dead"
    (dead,) = [json.loads(raw) for raw in redis_client.lrange(DEAD_LETTERS, 0, -1)]
    assert "aibot_send_msg: errcode 40003" in dead["meta"]["error"]


def test_no_holder_running_is_known_not_delivered(settings, redis_client):
    sender = _sender(settings, redis_client, max_attempts=1)
    outbox_add(redis_client, _reminder("jo"))
    assert sender.run_once() == "dead"  # no app secret, no webhook: only the (absent) holder could send
    (dead,) = [json.loads(raw) for raw in redis_client.lrange(DEAD_LETTERS, 0, -1)]
    assert "no holder took the message" in dead["meta"]["error"]
    assert redis_client.llen(f"{{wb}}:ws:send:{BOT_ID}") == 0  # taken back: nobody can send it late


def test_the_rest_of_a_group_reply_goes_back_to_the_group(holder, fake, settings, redis_client):
    outbox_add(redis_client, OutboxMessage(APP, "……续", to_user="kim", fmt="markdown",
                                           meta={"continues": "m1", "private": False, "transport": TRANSPORT,
                                                 "chat_id": "grp-9"}))
    assert _sender(settings, redis_client).drain() == ["sent"]
    assert [p["chatid"] for p in fake.pushes] == ["grp-9"]


def test_the_rest_of_a_reply_given_elsewhere_does_not_cross_over(holder, fake, settings, redis_client):
    msgid = fake.send_text("pia", "开始")  # pia last spoke on the long connection ...
    assert fake.wait(lambda: fake.answers(msgid))
    outbox_add(redis_client, OutboxMessage(APP, "……续", to_user="pia", fmt="markdown",  # ... but this was the app's
                                           meta={"continues": "m2", "private": True, "transport": "app"}))
    assert _sender(settings, redis_client).drain() == ["dead"]  # only the app's chat may carry it
    assert fake.pushes == []


def test_pushes_are_paced_per_chat(holder, fake, settings, redis_client, env):
    settings = load_settings({**env, "WS_SEND_RATE_LIMIT": "2"})
    msgid = fake.send_text("lea", "开始")
    assert fake.wait(lambda: fake.answers(msgid))
    sender = _sender(settings, redis_client)
    for n in range(3):
        outbox_add(redis_client, _reminder("lea", f"提醒 {n}"))
    assert sender.drain() == ["sent", "sent", "paced"]
    assert len(fake.pushes) == 2


# -- the whole deployment: WECOM_BOT_ID + WECOM_BOT_SECRET alone -------------------------------------------------
def test_followups_and_staff_notices_reach_wecom_through_the_connection(tmp_path, fake, redis_client):
    env = make_env(tmp_path, WECOM_BOT_ID=BOT_ID, WECOM_BOT_SECRET=SECRET, WECOM_WS_URL=fake.url,
                   CERT_CHECK_DELAY="0.5", CERT_FOLLOWUPS="3600", CERT_ESCALATE_DELAY="-1", IDLE_NUDGES="off",
                   QUIET_HOURS="off", LEADER_TTL="2", LEADER_POLL="0.1", WECOM_NOTICE_CHATID="grp-staff", **FAST)
    for name in ("WECOM_CORP_ID", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY", "WECOM_AIBOT_TOKEN",
                 "WECOM_AIBOT_ENCODING_AES_KEY"):
        env.pop(name)  # no callback, no app, no webhook: the long connection alone
    settings = load_settings(env)
    assert not settings.demo
    group = Holders(settings, redis_client)
    worker = Worker(settings, redis_client)
    thread = threading.Thread(target=worker.run, daemon=True)
    try:
        group.start()
        thread.start()
        assert fake.wait(lambda: fake.subscribes == 1)
        for text in ("开始", "完成", "完成", SUBMITTED_CERTIFICATION):
            msgid = fake.send_text("max", text)
            assert fake.wait(lambda msgid=msgid: fake.answers(msgid))
        assert fake.wait(lambda: any(p["chatid"] == "max" for p in fake.pushes), timeout=15)
        followup = next(p for p in fake.pushes if p["chatid"] == "max")
        assert "认证" in followup["markdown"]["content"]
        msgid = fake.send_text("max", "人工", chat_id="grp-support")
        assert fake.wait(lambda: fake.answers(msgid))
        assert fake.wait(lambda: any(p["chatid"] == "grp-staff" for p in fake.pushes), timeout=15)
        notice = next(p for p in fake.pushes if p["chatid"] == "grp-staff")  # the staff group, not the customers'
        assert "staff1" in notice["markdown"]["content"]
        assert not any(p["chatid"] == "grp-support" for p in fake.pushes)
    finally:
        worker.stop()
        thread.join(timeout=10)
        group.stop_all()
