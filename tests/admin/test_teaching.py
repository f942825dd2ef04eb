"""Staff teach the bot from the operator view; every process (and the CLI) picks the lesson up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.config import load_settings
from bot.core.keys import TEACH_EXAMPLES
from bot.demo.simulate_app import AppSimulator
from bot.understand.teaching import Teaching, TeachingError, label_for
from bot.web.app import create_app, runtime_of
from tests.support.admin import TOKEN
from tests.support.environment import make_env
from tests.support.servers import ROOT

# Nothing in the knowledge base or the example phrasings reads these as what they are taught to be.
QUESTION = "老板问的那串编码我咋找不到"
COMMAND = "齐活儿"


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, ADMIN_TOKEN=TOKEN, SECRET_KEY="s" * 32, TEACH_CHECK_SECONDS="0")


def _second_process(env, redis_client, clock):
    """Another web process on the same Redis: its own model, trained before the lesson."""
    settings = load_settings(env)
    app = create_app(settings, client=redis_client, clock=clock)
    return app, AppSimulator(settings.app, settings.agent_id, clock=clock)


def _say(app, sim, text: str, user: str) -> str:
    callback = sim.text(user, text)
    response = app.test_client().post("/wecom/callback", query_string=callback.query, data=callback.body)
    assert response.status_code == 200
    return sim.open_reply(response.get_data())


def test_a_question_taught_a_topic_is_answered_by_every_process(admin, env, redis_client, clock, say):
    other, sim = _second_process(env, redis_client, clock)
    understanding = runtime_of(other).services.understanding
    before = understanding.current.read(QUESTION, _ctx())
    assert before.topic != "find_original_id"

    _say(other, sim, QUESTION, "t0")  # not understood: it lands in the unanswered list, with a teach form
    page = admin.get("/admin/unanswered").get_data(as_text=True)
    assert QUESTION in page and 'value="topic:find_original_id"' in page
    response = admin.post("/admin/teach", data={"csrf_token": admin.csrf, "text": QUESTION,
                                                "label": "topic:find_original_id"})
    assert response.status_code == 303
    _say(other, sim, "进度", "t1")  # the first message after the lesson notices it and retrains in the background
    understanding.settle()
    reply = _say(other, sim, QUESTION, "t1")
    assert "gh_" in reply  # the original-ID answer
    assert QUESTION in admin.get("/admin/taught").get_data(as_text=True)


def test_a_message_taught_as_a_command_acts_as_it(admin, env, redis_client, clock):
    other, sim = _second_process(env, redis_client, clock)
    _say(other, sim, "开始", "t2")
    assert admin.post("/admin/teach", data={"csrf_token": admin.csrf, "text": COMMAND, "label": "status"}
                      ).status_code == 303
    _say(other, sim, "帮助", "t2")
    runtime_of(other).services.understanding.settle()
    assert "你的注册进度" in _say(other, sim, COMMAND, "t2")


def test_teaching_refuses_unknown_labels_and_needs_the_form_token(admin, redis_client):
    assert admin.post("/admin/teach", data={"csrf_token": admin.csrf, "text": "x", "label": "fly"}).status_code == 400
    assert admin.post("/admin/teach", data={"csrf_token": admin.csrf, "text": "x", "label": "topic:nope"}
                      ).status_code == 400
    assert admin.post("/admin/teach", data={"text": "x", "label": "status"}).status_code == 400  # CSRF
    assert not redis_client.exists(TEACH_EXAMPLES)
    with pytest.raises(TeachingError):
        label_for(intent="clarify")


def test_forgetting_a_lesson(admin, redis_client):
    teaching = Teaching(redis_client)
    teaching.teach(COMMAND, "status")
    assert admin.get("/admin/api/taught", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()["items"]
    assert admin.post("/admin/taught/forget", data={"csrf_token": admin.csrf, "text": COMMAND}).status_code == 303
    assert teaching.examples() == []


def test_a_pasted_secret_is_not_taught_in_clear(redis_client):
    text = "我的 AppSecret 是 0123456789abcdef0123456789abcdef 怎么填"
    Teaching(redis_client).teach(text, "topic:weda_submit_credentials")
    assert "0123456789abcdef0123456789abcdef" not in json.dumps(Teaching(redis_client).entries())


def test_the_cli_sees_what_staff_taught(redis_client, env):
    Teaching(redis_client).teach(COMMAND, "status")
    out = subprocess.run([sys.executable, "-m", "bot", "understand"], input=json.dumps({"text": COMMAND, "step": 2}),
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
                         env={**env, "PATH": "/usr/bin:/bin"}).stdout
    assert json.loads(out)["intent"] == "status"


def _ctx():
    from bot.understand import Context

    return Context(step=1, item_count=6)


def test_bot_faq_sees_a_taught_phrasing(redis_client, env):
    Teaching(redis_client).teach(QUESTION, "topic:find_original_id")
    out = subprocess.run([sys.executable, "-m", "bot", "faq"], input=QUESTION + "\n", cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True, env={**env, "PATH": "/usr/bin:/bin"}).stdout
    assert json.loads(out)["topic"] == "find_original_id"
