"""The self-built app callback end to end: Tencent's published vector, the CorpID, dedupe, events. The envelope
checks it shares with the AI-bot callback (signature, freshness, garbage, size) are in test_callback_envelope.py."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.core.keys import EVENTS_STREAM
from bot.demo.simulate_app import AppSimulator
from bot.web.app import create_app
from tests.support.environment import make_env

# Tencent's published sample (shared/WECOM.md): an app callback for corp ww1436e0e65a779aee.
VECTOR_ENV = {
    "WECOM_CORP_ID": "ww1436e0e65a779aee",
    "WECOM_TOKEN": "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "WECOM_ENCODING_AES_KEY": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "CALLBACK_MAX_AGE_SECONDS": "0",  # the vector is from 2016: freshness off for conformance only
}
VECTOR_VERIFY = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
}
VECTOR_MESSAGE_QUERY = {"msg_signature": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "timestamp": "1476422779",
                        "nonce": "1597212914"}
VECTOR_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AE"
    "ew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD2"
    "4YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjay"
    "JOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)


@pytest.fixture
def vector_app(tmp_path, redis_client):
    env = {**make_env(tmp_path), **VECTOR_ENV}
    del env["WECOM_AIBOT_TOKEN"], env["WECOM_AIBOT_ENCODING_AES_KEY"]
    settings = load_settings(env)
    return settings, create_app(settings, client=redis_client).test_client()


def test_published_vector_url_verification(vector_app):
    _, client = vector_app
    response = client.get("/wecom/callback", query_string=VECTOR_VERIFY)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "1288432023552776189"


def test_published_vector_message_is_decrypted_and_answered(vector_app, redis_client):
    settings, client = vector_app
    body = f"<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName><Encrypt><![CDATA[{VECTOR_ENCRYPT}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"  # noqa: E501
    response = client.post("/wecom/callback", query_string=VECTOR_MESSAGE_QUERY, data=body)
    assert response.status_code == 200
    sim = AppSimulator(settings.app)
    reply = sim.open_reply(response.get_data())
    assert reply  # "你好" gets an answer
    # the sample's MsgId is the dedupe key: a reply is cached under it
    assert list(redis_client.scan_iter(match="{wb}:reply:*:app:m1456453720"))


def _post(client, callback, **overrides):
    query = {**callback.query, **overrides}
    return client.post("/wecom/callback", query_string=query, data=callback.body)


def test_wrong_corp_id_is_403(client, settings, clock):
    from bot.config import CallbackCredentials

    other = AppSimulator(CallbackCredentials(settings.app.token, settings.app.encoding_aes_key, "wwsomeoneelse"),
                         clock=clock)
    response = _post(client, other.text("alice", "进度"))
    assert response.status_code == 403
    assert b"CorpID" in response.get_data()


def test_same_message_three_times_one_side_effect(client, app_sim, redis_client):
    """WeCom retries after 5 s: three identical replies, progress changed once, one event."""
    start = app_sim.text("bob", "开始")
    _post(client, start)
    done = app_sim.text("bob", "完成")  # moves step 1 -> 2; a second application would move to 3
    events_before = redis_client.xlen("{wb}:events")
    replies = []
    for _ in range(3):
        response = _post(client, done)
        assert response.status_code == 200
        replies.append(app_sim.open_reply(response.get_data()))
    assert replies[0] == replies[1] == replies[2]
    assert "第2步" in replies[0]
    from bot.core.store import Store

    progress = Store(redis_client).load(f"{app_sim.corp_id}:bob")
    assert progress.step == 2
    assert progress.completed == [1]
    # one handled message = its events + one activity event, written once
    assert redis_client.xlen("{wb}:events") - events_before == 2


def test_enter_agent_event_welcomes_once_per_event(client, app_sim):
    event = app_sim.event("carol", "enter_agent")
    first = app_sim.open_reply(_post(client, event).get_data())
    second = app_sim.open_reply(_post(client, event).get_data())
    assert "微搭服务商注册助手" in first
    assert first == second


def test_unknown_event_gets_empty_200(client, app_sim):
    response = _post(client, app_sim.event("carol", "location"))
    assert response.status_code == 200
    assert response.get_data() == b""


def test_image_message_is_acknowledged_and_queued_for_reading(client, app_sim, redis_client):
    xml = (f"<xml><ToUserName><![CDATA[{app_sim.corp_id}]]></ToUserName><FromUserName><![CDATA[dave]]></FromUserName>"
           "<CreateTime>1</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/y.png]]></PicUrl>"
           "<MediaId><![CDATA[m]]></MediaId><MsgId>77</MsgId><AgentID>1000002</AgentID></xml>")
    response = _post(client, app_sim.wrap(xml))
    assert response.status_code == 200
    # read by the OCR process: tests/channels/test_images.py
    assert "收到截图" in app_sim.open_reply(response.get_data())
    events = [fields["event"] for _id, fields in redis_client.xrange(EVENTS_STREAM)]
    assert any('"image_received"' in e and '"media_id": "m"' in e for e in events)


def test_a_voice_message_gets_please_type(client, app_sim):
    xml = (f"<xml><ToUserName><![CDATA[{app_sim.corp_id}]]></ToUserName><FromUserName><![CDATA[dave]]></FromUserName>"
           "<CreateTime>1</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
           "<MediaId><![CDATA[m]]></MediaId><MsgId>78</MsgId><AgentID>1000002</AgentID></xml>")
    response = _post(client, app_sim.wrap(xml))
    assert response.status_code == 200
    assert "文字" in app_sim.open_reply(response.get_data())


@pytest.fixture
def long_say(tmp_path, redis_client, clock):
    """Like ``say``, with a guide whose step 1 details are longer than one app reply."""
    from tests.support.environment import long_guide

    settings = load_settings(make_env(tmp_path, GUIDE_FILE=long_guide(tmp_path)))
    client = create_app(settings, client=redis_client, clock=clock).test_client()
    sim = AppSimulator(settings.app, settings.agent_id, clock=clock)

    def _say(text: str, user: str = "alice") -> str:
        callback = sim.text(user, text)
        return sim.open_reply(client.post("/wecom/callback", query_string=callback.query,
                                          data=callback.body).get_data())

    return _say


def test_long_reply_is_split_and_rest_queued(long_say, redis_client):
    say = long_say
    say("开始", user="erin")
    redis_client.delete("{wb}:outbox")
    reply = say("详情", user="erin")  # step 1 in full: longer than one app reply
    assert len(reply.encode()) <= 2048
    queued = redis_client.lrange("{wb}:outbox", 0, -1)
    assert queued, "the rest of the step text goes out as a follow-up message"
    import json

    parts = [json.loads(raw) for raw in queued]
    assert len(parts) == 1 and parts[0]["to_user"] == "erin" and parts[0]["channel"] == "app"
    from bot.core.textsplit import split_utf8

    assert all(len(p.encode()) <= 2048 for p in split_utf8(parts[0]["text"], 2048))  # as the sender sends it


def test_demo_mode_sends_the_whole_reply_at_once(tmp_path, redis_client):
    """No WeCom to cut it and nothing to send a rest with: the reply is whole, and nothing is queued."""
    from tests.support.environment import long_guide, redis_url_for_tests

    settings = load_settings({"BOT_DATA_DIR": str(tmp_path), "REDIS_URL": redis_url_for_tests(),
                              "GUIDE_FILE": long_guide(tmp_path)})
    assert settings.demo
    client = create_app(settings, client=redis_client).test_client()
    sim = AppSimulator(settings.app, settings.agent_id)
    for text in ("开始", "详情"):
        callback = sim.text("newcomer", text)
        reply = sim.open_reply(client.post("/wecom/callback", query_string=callback.query,
                                           data=callback.body).get_data())
    assert len(reply.encode()) > 2048 and reply.rstrip().endswith("○6")  # the details end with the progress line
    assert "mp.weixin.qq.com/wxamp/basicprofile/index" in reply
    assert redis_client.llen("{wb}:outbox") == 0


def test_a_message_without_msgid_is_still_deduplicated(client, app_sim, redis_client):
    xml = (f"<xml><ToUserName><![CDATA[{app_sim.corp_id}]]></ToUserName><FromUserName><![CDATA[nomsgid]]>"
           "</FromUserName><CreateTime>1790000000</CreateTime><MsgType><![CDATA[image]]></MsgType>"
           "<PicUrl><![CDATA[http://x/y.png]]></PicUrl><AgentID>1000002</AgentID></xml>")
    callback = app_sim.wrap(xml)
    for _ in range(3):
        assert _post(client, callback).status_code == 200
    assert len(list(redis_client.scan_iter(match="{wb}:reply:*nomsgid*"))) == 1


def test_plain_text_replies_spell_mentions_out(say, runtime):
    from bot.core.messages import Reply
    from bot.core.render import TEXT

    context = {"user": "u1", "mention": "u1", "staff": ["staff1"], "step": 2, "title": "T", "finished": False,
               "faq": False, "topic": None}
    plain = runtime.services.renderer.render(Reply("notice_human", context), "zh", TEXT)
    assert "@staff1" in plain and "@u1" in plain and "<@" not in plain
    runtime.services.support_staff = ("staff1",)
    reply = say("人工", user="needs-help")
    assert "staff1" not in reply and "<@" not in reply  # the customer is not shown staff userids
