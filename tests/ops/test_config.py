"""Configuration comes from the environment only and says exactly what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.support.environment import make_env
from tests.support.phrases import STEP_2_MARKED_CURRENT

ROOT = Path(__file__).resolve().parents[2]


def test_valid_environment(tmp_path):
    settings = load_settings(make_env(tmp_path))
    assert not settings.demo and settings.corp_id == "wwtestcorp000001" and settings.app.receive_id == settings.corp_id
    assert settings.aibot.receive_id == ""


@pytest.mark.parametrize("overrides, named", [
    ({"WECOM_ENCODING_AES_KEY": "tooshort"}, "WECOM_ENCODING_AES_KEY"),
    ({"WECOM_ENCODING_AES_KEY": "a" * 42 + "!"}, "WECOM_ENCODING_AES_KEY"),
    ({"WECOM_TOKEN": "has spaces in it"}, "WECOM_TOKEN"),
    ({"WECOM_TOKEN": ""}, "WECOM_TOKEN"),
    ({"WECOM_AIBOT_ENCODING_AES_KEY": ""}, "WECOM_AIBOT"),
    ({"WECOM_AGENT_ID": "abc"}, "WECOM_AGENT_ID"),
    ({"CALLBACK_MAX_AGE_SECONDS": "five"}, "CALLBACK_MAX_AGE_SECONDS"),
])
def test_malformed_settings_name_the_variable(tmp_path, overrides, named):
    with pytest.raises(ConfigError) as error:
        load_settings(make_env(tmp_path, **overrides))
    assert named in str(error.value)


def test_demo_mode_without_credentials_keeps_its_throwaway_credentials(tmp_path):
    env = {"BOT_DATA_DIR": str(tmp_path)}
    first = load_settings(env)
    second = load_settings(env)
    assert first.demo and len(first.app.encoding_aes_key) == 43
    assert first.app == second.app and first.aibot == second.aibot  # every process agrees
    assert oct((tmp_path / "demo-credentials.json").stat().st_mode)[-3:] == "600"


def test_check_command_reports_a_bad_key(tmp_path):
    env = {**os.environ, **make_env(tmp_path, WECOM_ENCODING_AES_KEY="short")}
    result = subprocess.run([sys.executable, "-m", "bot", "check"], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert "WECOM_ENCODING_AES_KEY" in result.stderr and "Traceback" not in result.stderr


def test_progress_survives_a_restart_with_the_embedded_redis(tmp_path):
    """No REDIS_URL: an embedded Redis keeps its data in BOT_DATA_DIR, across processes."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"BOT_DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"})

    def chat(script: str) -> str:
        result = subprocess.run([sys.executable, "-m", "bot", "chat", "--user", "persist"], input=script,
                                capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        assert result.returncode == 0, result.stderr[-1500:]
        return result.stdout

    chat("开始\n完成\n")
    assert STEP_2_MARKED_CURRENT in chat("进度\n")
    assert (tmp_path / "var" / "appendonly.aof").exists() or (tmp_path / "var" / "appendonlydir").exists()


def test_secrets_stay_out_of_the_settings_repr(tmp_path):
    env = make_env(tmp_path, WECOM_APP_SECRET="app-secret-value-123", WECOM_WEBHOOK_KEY="hook-key-value-456",
                   ADMIN_TOKEN="admin-token-value-789")
    text = repr(load_settings(env))
    for secret in ("app-secret-value-123", "hook-key-value-456", "admin-token-value-789", env["WECOM_TOKEN"],
                   env["WECOM_ENCODING_AES_KEY"], env["WECOM_AIBOT_ENCODING_AES_KEY"]):
        assert secret not in text


def test_an_unconfigured_app_callback_is_404(tmp_path, redis_client):
    from bot.web.app import create_app

    env = {k: v for k, v in make_env(tmp_path).items()
           if k not in ("WECOM_TOKEN", "WECOM_ENCODING_AES_KEY", "WECOM_CORP_ID")}
    client = create_app(load_settings(env), client=redis_client).test_client()
    response = client.post("/wecom/callback?msg_signature=x&timestamp=1&nonce=2", data=b"<xml/>")
    assert response.status_code == 404 and b"not configured" in response.get_data()


def test_the_redis_topology_settings_become_one_target(tmp_path):
    from bot.config import redis_target, validate

    sentinel = load_settings(make_env(tmp_path, REDIS_URL="redis://:pw@x/3", REDIS_CLUSTER="false",
                                      REDIS_SENTINELS="10.0.0.7:26379, [::1]:26380", REDIS_SENTINEL_MASTER="main"))
    validate(sentinel)
    target = redis_target(sentinel)
    assert target is not None and target.kind == "sentinel" and target.sentinel_master == "main"
    assert target.sentinels == (("10.0.0.7", 26379), ("::1", 26380))
    cluster = load_settings(make_env(tmp_path, REDIS_URL="redis://node:7000/0", REDIS_CLUSTER="yes"))
    assert redis_target(cluster).kind == "cluster"
    assert redis_target(load_settings(make_env(tmp_path, REDIS_CLUSTER="off"))).kind == "single"


@pytest.mark.parametrize("overrides, named", [
    ({"REDIS_SENTINELS": "10.0.0.7"}, "REDIS_SENTINELS"),  # no port: refused at parse time
    ({"REDIS_SENTINELS": "h:99999", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
    ({"REDIS_CLUSTER": "maybe"}, "REDIS_CLUSTER"),
])
def test_malformed_redis_topology_names_the_variable(tmp_path, overrides, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(make_env(tmp_path, **overrides))


@pytest.mark.parametrize("overrides, named", [
    ({"REDIS_SENTINELS": "h:26379"}, "REDIS_SENTINEL_MASTER"),
    ({"REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
    ({"REDIS_SENTINELS": "h:26379", "REDIS_SENTINEL_MASTER": "m", "REDIS_CLUSTER": "1"}, "REDIS_CLUSTER"),
    ({"REDIS_CLUSTER": "1", "REDIS_URL": "unix:///tmp/r.sock"}, "REDIS_CLUSTER"),
])
def test_check_refuses_redis_settings_that_do_not_fit_together(tmp_path, overrides, named):
    from bot.config import validate

    env = make_env(tmp_path, **overrides)
    if "REDIS_CLUSTER" not in overrides:
        env.pop("REDIS_CLUSTER", None)  # make_env sets it on a TEST_REDIS_TOPOLOGY=cluster run
    with pytest.raises(ConfigError, match=named):
        validate(load_settings(env))


def test_cluster_or_sentinels_without_redis_url_are_refused(tmp_path):
    from bot.config import validate

    env = {k: v for k, v in make_env(tmp_path, REDIS_CLUSTER="true").items() if k != "REDIS_URL"}
    with pytest.raises(ConfigError, match="REDIS_URL"):
        validate(load_settings(env))
