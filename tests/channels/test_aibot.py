"""The AI bot (智能机器人) JSON callback end to end: its own credentials, hostile input, normalisation,
replies (stream, stream + card, card update, welcome text), stream refresh, dedupe, card clicks. The envelope
checks it shares with the app callback are in test_callback_envelope.py."""

from __future__ import annotations

import json

import pytest

from bot.channels.aibot import protocol as proto
from bot.channels.wecom.envelope import CallbackRejected
from bot.config import CallbackCredentials, load_settings
from bot.core.keys import aibot_answered_key
from bot.core.messages import Button, Outgoing, Reply
from bot.core.render import TEXT
from bot.core.store import Store, lock_key
from bot.demo.simulate_aibot import AibotSimulator
from bot.outbound.queue import OUTBOX_QUEUE
from bot.web.app import create_app
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.phrases import STATUS_WITH_A_MENTION, SYSTEM_BUSY, WHAT_TO_DO_ABOUT_61004

PATH = "/wecom/aibot"


@pytest.fixture
def sim(settings, clock) -> AibotSimulator:
    return AibotSimulator(settings.aibot, clock=clock)


def _post(client, callback, **overrides):
    return client.post(PATH, query_string={**callback.query, **overrides}, data=callback.body)


def _reply(client, sim, callback) -> dict | None:
    response = _post(client, callback)
    assert response.status_code == 200, response.get_data(as_text=True)
    return sim.open_reply_json(response.get_data())


def _progress(redis_client, user):
    return Store(redis_client).load(f"{TEST_CORP_ID}:{user}")


def _events(redis_client) -> list[dict]:
    return [json.loads(fields["event"]) for _, fields in redis_client.xrange("{wb}:events")]


# -- its own credentials (the checks both callbacks share: test_callback_envelope.py) ------------
def test_app_credentials_do_not_open_the_aibot_url(client, settings, clock):
    """Each surface has its own token and key: an app-signed callback is forged for the AI bot."""
    other = AibotSimulator(CallbackCredentials(settings.app.token, settings.app.encoding_aes_key, ""), clock=clock)
    assert _post(client, other.text("alice", "进度")).status_code == 403


# -- replies ------------------------------------------------------------------------------------
def test_group_text_gets_a_finished_stream_addressed_to_the_user(client, sim, redis_client):
    callback = sim.text("alice", "开始", chat_id="grp-1")
    response = _post(client, callback)
    envelope = json.loads(response.get_data())
    assert set(envelope) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert envelope["nonce"] == callback.query["nonce"]  # WeCom: the callback's own nonce
    reply = sim.open_reply_json(response.get_data())
    assert reply["msgtype"] == "stream_with_template_card"  # "开始" offers buttons
    stream = reply["stream"]
    assert stream["finish"] is True
    assert stream["content"].startswith("<@alice>\n")
    assert "第1步" in stream["content"]
    assert len(stream["content"].encode()) <= proto.STREAM_MAX_BYTES
    assert stream["feedback"]["id"] == stream["id"]  # so thumbs up/down come back as feedback_event
    card = reply["template_card"]
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"]
    keys = [b["key"] for b in card["button_list"]]
    assert "done" in keys and all(b["text"] for b in card["button_list"])
    progress = _progress(redis_client, "alice")
    assert progress.step == 1
    assert progress.last_chat == {"transport": "aibot", "chat_type": "group", "chat_id": "grp-1"}


def test_single_chat_reply_has_no_mention(client, sim, redis_client):
    reply = _reply(client, sim, sim.text("bob", "帮助"))
    assert reply["msgtype"] in ("stream", "stream_with_template_card")
    assert not reply["stream"]["content"].startswith("<@")
    assert _progress(redis_client, "bob").last_chat["chat_type"] == "single"


def test_reply_without_buttons_is_a_plain_stream(client, sim):
    callback = sim.wrap({"msgid": sim.new_msg_id(), "chattype": "single", "from": {"userid": "jay"},
                         "msgtype": "file", "file": {"url": "https://example.invalid/x"}})
    reply = _reply(client, sim, callback)
    assert reply["msgtype"] == "stream"
    assert reply["stream"]["finish"] is True
    assert "文字" in reply["stream"]["content"]  # the handlers' "please type it"
    assert "template_card" not in reply


@pytest.mark.parametrize("text", ["进度", "进度 @助手", "@助手\u3000进度", "@助手\u2005进度", "@助手 @张三 进度"])
def test_mention_anywhere_is_stripped(client, sim, text):
    callback = sim.wrap({"msgid": sim.new_msg_id(), "chattype": "group", "chatid": "g", "from": {"userid": "cat"},
                         "msgtype": "text", "text": {"content": text}})
    content = _reply(client, sim, callback)["stream"]["content"]
    assert "开始" in content and "没太明白" not in content  # understood as "进度": not started yet


def test_stream_refresh_is_answered_from_redis(client, sim, redis_client):
    first = _reply(client, sim, sim.text("dan", "开始", chat_id="grp-1"))
    stream_id = first["stream"]["id"]
    assert redis_client.ttl(f"{{wb}}:stream:{stream_id}") > 0
    before = _progress(redis_client, "dan").to_json()
    refreshed = _reply(client, sim, sim.stream_refresh("dan", stream_id, chat_id="grp-1"))
    assert refreshed == {"msgtype": "stream", "stream": {"id": stream_id, "finish": True,
                                                        "content": first["stream"]["content"]}}
    assert _progress(redis_client, "dan").to_json() == before  # a refresh is no new message


def test_refresh_of_unknown_stream_is_empty_200(client, sim):
    response = _post(client, sim.stream_refresh("dan", "wbs-nope"))
    assert response.status_code == 200
    assert response.get_data() == b""


def test_stream_refresh_without_id_is_400(client, sim):
    callback = sim.wrap({"msgid": "x1", "from": {"userid": "dan"}, "msgtype": "stream", "stream": {}})
    assert _post(client, callback).status_code == 400


def test_same_message_three_times_one_side_effect(client, sim, redis_client):
    """WeCom retries after 5 s: three identical replies, progress changed once, one set of events."""
    _reply(client, sim, sim.text("erin", "开始", chat_id="grp-1"))
    done = sim.text("erin", "完成", chat_id="grp-1")  # step 1 -> 2; a second application would move to 3
    events_before = redis_client.xlen("{wb}:events")
    replies = [_reply(client, sim, done) for _ in range(3)]
    assert replies[0] == replies[1] == replies[2]
    assert "第2步" in replies[0]["stream"]["content"]
    progress = _progress(redis_client, "erin")
    assert progress.step == 2
    assert progress.completed == [1]
    assert redis_client.xlen("{wb}:events") - events_before == 2  # step_completed + activity


# -- events -------------------------------------------------------------------------------------
def test_enter_chat_is_welcomed_with_plain_text(client, sim):
    reply = _reply(client, sim, sim.event("fay", "enter_chat"))
    assert reply["msgtype"] == "text"
    assert "微搭服务商注册助手" in reply["text"]["content"]
    assert "**" not in reply["text"]["content"]


def test_card_click_acts_as_the_command_and_answers_through_response_url(client, sim, redis_client):
    _reply(client, sim, sim.text("gus", "开始", chat_id="grp-1"))
    url = sim.response_url()
    click = sim.event("gus", "template_card_event", chat_id="grp-1", response_url=url,
                      card_type="button_interaction", event_key="done", task_id="wbt-abc")
    replies = [_reply(client, sim, click) for _ in range(3)]
    assert replies[0] == replies[1] == replies[2]
    update = replies[0]
    # A click's passive reply can only update the card: for the clicker, with the next buttons.
    assert update["response_type"] == "update_template_card"
    assert update["userids"] == ["gus"]
    assert update["template_card"]["task_id"] == "wbt-abc"
    assert {b["key"] for b in update["template_card"]["button_list"]} >= {"done", "status"}
    progress = _progress(redis_client, "gus")
    assert progress.step == 2  # the button did what typing "完成" does, once
    assert progress.response_url != url  # a spent response_url is not kept for reminders
    queued = [json.loads(raw) for raw in redis_client.lrange(OUTBOX_QUEUE, 0, -1)]
    answers = [m for m in queued if m["channel"] == "response_url"]
    assert len(answers) == 1
    assert answers[0]["url"] == url and answers[0]["fmt"] == "markdown" and answers[0]["to_user"] == "gus"
    assert answers[0]["text"].startswith("<@gus>\n") and "第2步" in answers[0]["text"]


def test_feedback_is_recorded_and_gets_an_empty_reply(client, sim, redis_client):
    feedback = sim.event("hal", "feedback_event", id="wbs-1", type=2, content="能再详细一些么",
                         inaccurate_reason_list=[2, 4])
    for _ in range(2):
        response = _post(client, feedback)
        assert response.status_code == 200
        assert response.get_data() == b""  # WeCom: feedback events accept only an empty reply
    recorded = [e for e in _events(redis_client) if e["kind"] == "feedback"]
    assert recorded == [{"user": f"{TEST_CORP_ID}:hal", "kind": "feedback", "data": {"value": "inaccurate"}}]


def test_unknown_event_gets_empty_200(client, sim):
    response = _post(client, sim.event("ivy", "something_new"))
    assert response.status_code == 200
    assert response.get_data() == b""


# -- normalisation (no HTTP) --------------------------------------------------------------------
def _doc(**fields):
    return {"msgid": "M1", "aibotid": "B", "chattype": "group", "chatid": "C1", "from": {"userid": "u1"},
            "response_url": "https://r", **fields}


@pytest.mark.parametrize(("raw", "expected"), [
    ("@助手 61004 怎么办", WHAT_TO_DO_ABOUT_61004),
    ("61004 怎么办 @助手", WHAT_TO_DO_ABOUT_61004),
    ("61004 @助手 怎么办", WHAT_TO_DO_ABOUT_61004),
    ("@助手\u300061004\u3000怎么办", WHAT_TO_DO_ABOUT_61004),
    ("@助手\u2005进度", "进度"),
    ("@助手", ""),
    ("邮箱 a@b.com 收不到", "邮箱 a@b.com 收不到"),
    ("第一行 @助手\n第二行", "第一行\n第二行"),
])
def test_strip_mentions(raw, expected):
    assert proto.strip_mentions(raw) == expected


def test_configured_bot_name_with_a_space_is_stripped():
    assert proto.strip_mentions("@Robot A step 3", ("Robot A",)) == "step 3"


def test_group_text_normalises_who_where_what():
    incoming = proto.to_incoming(_doc(msgtype="text", text={"content": "@助手 61004 怎么办"}), "wwcorp")
    assert (incoming.transport, incoming.corp_id, incoming.user_id) == ("aibot", "wwcorp", "u1")
    assert incoming.user_key == "wwcorp:u1"
    assert (incoming.chat_type, incoming.chat_id) == ("group", "C1")
    assert (incoming.kind, incoming.text, incoming.msg_id) == ("text", WHAT_TO_DO_ABOUT_61004, "mM1")
    assert incoming.response_url == "https://r"


def test_single_chat_has_no_chat_id():
    doc = _doc(chattype="single", msgtype="text", text={"content": "hi"})
    del doc["chatid"]
    incoming = proto.to_incoming(doc, "wwcorp")
    assert (incoming.chat_type, incoming.chat_id) == ("single", None)


def test_mixed_text_parts_are_joined():
    mixed = {"msg_item": [{"msgtype": "text", "text": {"content": "@机器人 这是报错"}},
                          {"msgtype": "image", "image": {"url": "U"}},
                          {"msgtype": "text", "text": {"content": "61004"}}]}
    incoming = proto.to_incoming(_doc(msgtype="mixed", mixed=mixed), "c")
    assert (incoming.kind, incoming.text) == ("text", "这是报错\n61004")


def test_an_image_or_a_mixed_message_with_one_is_a_screenshot_to_read():
    image = proto.to_incoming(_doc(msgtype="image", image={"url": "https://wx.example/1", "aeskey": "k"}), "c")
    assert (image.kind, image.extra["image"]) == ("image", {"url": "https://wx.example/1", "aeskey": "k"})
    mixed = {"msg_item": [{"msgtype": "text", "text": {"content": "@机器人 这是报错"}},
                          {"msgtype": "image", "image": {"url": "https://wx.example/2"}}]}
    incoming = proto.to_incoming(_doc(msgtype="mixed", mixed=mixed), "c")
    assert (incoming.kind, incoming.text, incoming.extra["image"]) == ("image", "这是报错", {"url": "https://wx.example/2"})


def test_mixed_of_images_only_is_unsupported():
    mixed = {"msg_item": [{"msgtype": "image", "image": {"url": "U"}}]}
    assert proto.to_incoming(_doc(msgtype="mixed", mixed=mixed), "c").kind == "unsupported"


def test_quote_keeps_the_users_own_words():
    doc = _doc(msgtype="text", text={"content": "@助手 这个怎么办"},
               quote={"msgtype": "text", "text": {"content": "errcode 61004"}})
    incoming = proto.to_incoming(doc, "c")
    assert incoming.text == "这个怎么办"
    assert incoming.extra["quote"] == "errcode 61004"


@pytest.mark.parametrize("msgtype", ["image", "file", "video", "link"])
def test_other_types_are_unsupported(msgtype):
    incoming = proto.to_incoming(_doc(msgtype=msgtype, **{msgtype: {"url": "U", "content": "语音转写"}}), "c")
    assert incoming.kind == "unsupported"
    assert incoming.msg_id == "mM1"


def test_voice_transcript_is_read_as_text_and_voice_without_one_is_unsupported():
    spoken = proto.to_incoming(_doc(msgtype="voice", voice={"content": STATUS_WITH_A_MENTION}), "c")
    assert (spoken.kind, spoken.text) == ("text", "进度")
    silent = proto.to_incoming(_doc(msgtype="voice", voice={"url": "U"}), "c")
    assert silent.kind == "unsupported"


def test_events_normalise():
    base = {k: v for k, v in _doc().items() if k != "response_url"}
    enter = proto.to_incoming({**base, "msgtype": "event", "event": {"eventtype": "enter_chat"}}, "c")
    assert (enter.kind, enter.event, enter.msg_id) == ("event", "welcome", "eM1")
    click = proto.to_incoming({**base, "msgtype": "event", "response_url": "https://r", "event": {
        "eventtype": "template_card_event",
        "template_card_event": {"card_type": "button_interaction", "event_key": "status", "task_id": "T"}}}, "c")
    assert (click.event, click.event_key, click.response_url) == ("card_click", "status", None)
    assert click.extra["response_url"] == "https://r" and click.extra["task_id"] == "T"
    feedback = proto.to_incoming({**base, "msgtype": "event", "event": {
        "eventtype": "feedback_event", "feedback_event": {"id": "F", "type": 1}}}, "c")
    assert (feedback.event, feedback.event_key, feedback.extra["feedback_id"]) == ("feedback", "accurate", "F")


def test_event_without_msgid_gets_a_composite_key():
    doc = {"create_time": 1700000000, "from": {"userid": "u1"}, "msgtype": "event", "event": {
        "eventtype": "template_card_event", "template_card_event": {"event_key": "done", "task_id": "T"}}}
    one = proto.to_incoming(doc, "c")
    other = proto.to_incoming({**doc, "event": {"eventtype": "template_card_event",
                                                "template_card_event": {"event_key": "status", "task_id": "T"}}}, "c")
    assert one.msg_id == "e:u1:1700000000:template_card_event:done:T"
    assert one.msg_id != other.msg_id


@pytest.mark.parametrize("doc", [
    {"msgid": "M", "msgtype": "text", "text": {"content": "x"}},  # no from
    {"msgid": "M", "from": {"userid": ""}, "msgtype": "text"},
    {"msgid": "M", "from": {"userid": ["x"]}, "msgtype": "text"},
    {"msgid": "M", "from": "u1", "msgtype": "text"},
    {"from": {"userid": "u1"}, "msgtype": "text", "text": {"content": "x"}},  # a message without msgid
    {"msgid": "M" * 300, "from": {"userid": "u1"}, "msgtype": "text"},
])
def test_malformed_payloads_are_rejected(doc):
    with pytest.raises(CallbackRejected) as info:
        proto.to_incoming(doc, "c")
    assert info.value.status == 400


def test_stream_content_never_exceeds_the_limit():
    text = "步" * 10000  # 30000 bytes
    content = proto.stream_content(text, "alice")
    assert len(content.encode()) <= proto.STREAM_MAX_BYTES and content.startswith("<@alice>\n步")
    assert content.endswith("…")
    assert proto.stream_content("short", None) == "short"


# -- hostile input: 4xx, never 500 --------------------------------------------------------------
def test_non_empty_receive_id_is_403(client, settings, clock):
    """The AI bot's plaintext ends in an empty receive id; a CorpID there is another surface's message."""
    other = AibotSimulator(CallbackCredentials(settings.aibot.token, settings.aibot.encoding_aes_key, "wwother"),
                           clock=clock)
    assert _post(client, other.text("alice", "进度")).status_code == 403


@pytest.mark.parametrize("plaintext", ["not json", "[1]", '"x"', "{", "[" * 5000,
                                       '{"msgid": "m", "msgtype": "text"}'])
def test_well_signed_bad_plaintext_is_400(client, sim, plaintext):
    assert _post(client, sim.wrap(plaintext)).status_code == 400


def test_not_configured_is_404_with_a_clear_message(tmp_path, redis_client):
    env = make_env(tmp_path)
    del env["WECOM_AIBOT_TOKEN"], env["WECOM_AIBOT_ENCODING_AES_KEY"]
    client = create_app(load_settings(env), client=redis_client).test_client()
    for response in (client.get(PATH, query_string={"echostr": "x"}), client.post(PATH, data=b"{}")):
        assert response.status_code == 404
        assert b"WECOM_AIBOT_TOKEN" in response.get_data()


# -- a card click answered with a transient system reply; the card's language ---------------------
def test_a_busy_click_spends_nothing_and_its_retry_gets_the_answer(client, settings, clock, runtime, redis_client):
    sim = AibotSimulator(settings.aibot, clock=clock)
    runtime.services.store.lock_wait = 0.2
    url = sim.response_url()
    click = sim.event("gus", "template_card_event", chat_id="grp-1", response_url=url,
                      card_type="button_interaction", event_key="status", task_id="wbt-1")
    redis_client.set(lock_key(f"{TEST_CORP_ID}:gus"), "another-message", px=10_000)

    busy = client.post("/wecom/aibot", query_string=click.query, data=click.body)
    assert busy.status_code == 503  # not a 200: WeCom sends the callback again
    assert redis_client.llen(OUTBOX_QUEUE) == 0  # the one-time response_url is not spent on an apology
    assert not list(redis_client.scan_iter(match=aibot_answered_key("*")))  # no "answered" guard: the retry may answer

    redis_client.delete(lock_key(f"{TEST_CORP_ID}:gus"))
    retry = client.post("/wecom/aibot", query_string=click.query, data=click.body)
    assert retry.status_code == 200
    update = sim.open_reply_json(retry.get_data())
    assert update["response_type"] == "update_template_card"
    [answer] = [json.loads(raw) for raw in redis_client.lrange(OUTBOX_QUEUE, 0, -1)]
    assert answer["url"] == url and SYSTEM_BUSY not in answer["text"]


def test_the_card_title_is_in_the_replys_language_not_guessed_from_its_text(runtime):
    callback = runtime.aibot_callback
    renderer = runtime.services.renderer
    outgoing = Outgoing("步骤 WeDa 小程序", buttons=(Button("done", "Done"),), lang="en")
    card = callback._card("wbt-2", outgoing)
    assert card["main_title"]["title"] == renderer.render(Reply("aibot_card_title"), "en", TEXT)
    assert card["main_title"]["title"] != renderer.render(Reply("aibot_card_title"), "zh", TEXT)
