"""Conversations inside the support group: several users at different steps, progress per person and
shared with the private app chat, where each one last spoke recorded for reminders."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT
from bot.core.pipeline import RESPONSE_URL_TTL
from bot.core.store import Store
from bot.demo.simulate_aibot import AibotSimulator
from tests.support.environment import TEST_CORP_ID, make_env
from tests.support.phrases import STEP_2_MARKED_CURRENT

GROUP = "wrSupportGroup01"


@pytest.fixture
def group_say(client, settings, clock):
    """Say something in the group as ``user``, @-mentioning the bot; return the reply's text."""
    sim = AibotSimulator(settings.aibot, clock=clock)

    def _say(user: str, text: str, chat_id: str | None = GROUP, response_url: str | None = None) -> str:
        callback = sim.text(user, text, chat_id=chat_id, response_url=response_url)
        response = client.post("/wecom/aibot", query_string=callback.query, data=callback.body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return sim.open_reply(response.get_data())

    return _say


def _progress(redis_client, user):
    return Store(redis_client).load(f"{TEST_CORP_ID}:{user}")


def _current_line(reply: str) -> str:
    return next(line for line in reply.splitlines() if line.startswith("▶"))


def test_two_users_in_one_group_each_get_their_own_progress(group_say, redis_client):
    group_say("amy", "开始")
    group_say("ben", "开始")
    group_say("amy", "完成")
    group_say("amy", "完成")  # amy: step 3, ben: step 1

    amy = group_say("amy", "进度")
    ben = group_say("ben", "进度")
    assert amy.startswith("<@amy>\n") and ben.startswith("<@ben>\n")
    assert _current_line(amy).startswith("▶ 第3步")
    assert _current_line(ben).startswith("▶ 第1步")
    assert "✅ 第1步" in amy and "✅ 第2步" in amy
    assert "✅" not in ben.split("**第1步")[0]
    assert (_progress(redis_client, "amy").step, _progress(redis_client, "ben").step) == (3, 1)

    # ben moving on does not move amy
    group_say("ben", "完成")
    assert _current_line(group_say("amy", "进度")).startswith("▶ 第3步")
    assert _current_line(group_say("ben", "进度")).startswith(STEP_2_MARKED_CURRENT)


def test_progress_is_shared_between_the_app_chat_and_groups(say, group_say, redis_client):
    say("开始", user="cara")  # private app chat
    in_group = group_say("cara", "进度")
    assert _current_line(in_group).startswith("▶ 第1步")

    group_say("cara", "完成")  # in the group
    assert _current_line(say("进度", user="cara")).startswith(STEP_2_MARKED_CURRENT)  # seen in the app chat

    group_say("cara", "完成", chat_id="wrAnotherGroup")  # and in another group
    assert _current_line(say("进度", user="cara")).startswith("▶ 第3步")
    progress = _progress(redis_client, "cara")
    assert progress.step == 3 and progress.completed == [1, 2]


def test_last_chat_and_response_url_are_recorded(say, group_say, redis_client, clock):
    url = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=CODE1"
    group_say("dina", "开始", response_url=url)
    progress = _progress(redis_client, "dina")
    assert progress.last_chat == {"transport": "aibot", "chat_type": "group", "chat_id": GROUP}
    assert progress.response_url == url
    assert progress.response_url_expires == clock() + RESPONSE_URL_TTL

    clock.advance(60)
    say("进度", user="dina")  # then the private chat: last_chat follows the user, the URL stays
    progress = _progress(redis_client, "dina")
    assert progress.last_chat["transport"] == "app"
    assert progress.response_url == url

    clock.advance(60)
    newer = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=CODE2"
    group_say("dina", "进度", chat_id=None, response_url=newer)  # the AI bot's single chat
    progress = _progress(redis_client, "dina")
    assert progress.last_chat == {"transport": "aibot", "chat_type": "single", "chat_id": None}
    assert progress.response_url == newer
    assert progress.response_url_expires == clock() + RESPONSE_URL_TTL


@pytest.mark.slow
def test_cli_simulator_speaks_aibot(tmp_path, redis_client):
    """``python -m bot chat --aibot --group G --user U`` against the test Redis, scripted on stdin."""
    env = {**os.environ, **make_env(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)}

    def chat(user: str, lines: str) -> str:
        done = subprocess.run([sys.executable, "-m", "bot", "chat", "--aibot", "--group", GROUP, "--user", user],
                              input=lines, capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    chat("eve", "开始\n完成\n完成\n")
    chat("fin", "开始\n")
    eve, fin = chat("eve", "进度\n"), chat("fin", "进度\n")
    assert "> 进度" in eve and "<@eve>" in eve and "▶ 第3步" in eve
    assert "<@fin>" in fin and "▶ 第1步" in fin
    assert _progress(redis_client, "eve").step == 3
    assert _progress(redis_client, "fin").last_chat["chat_id"] == GROUP
