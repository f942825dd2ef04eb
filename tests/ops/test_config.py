"""Configuration comes from the environment only and says exactly what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from tests.support import make_env

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
    assert "▶ 第2步" in chat("进度\n")
    assert (tmp_path / "var" / "appendonly.aof").exists() or (tmp_path / "var" / "appendonlydir").exists()


def test_secrets_stay_out_of_the_settings_repr(tmp_path):
    env = make_env(tmp_path, WECOM_APP_SECRET="app-secret-value-123", WECOM_WEBHOOK_KEY="hook-key-value-456",
                   ADMIN_TOKEN="admin-token-value-789")
    text = repr(load_settings(env))
    for secret in ("app-secret-value-123", "hook-key-value-456", "admin-token-value-789", env["WECOM_TOKEN"],
                   env["WECOM_ENCODING_AES_KEY"], env["WECOM_AIBOT_ENCODING_AES_KEY"]):
        assert secret not in text


def test_an_unconfigured_app_callback_is_404(tmp_path, redis_client):
    from bot.app import create_app

    env = {k: v for k, v in make_env(tmp_path).items()
           if k not in ("WECOM_TOKEN", "WECOM_ENCODING_AES_KEY", "WECOM_CORP_ID")}
    client = create_app(load_settings(env), client=redis_client).test_client()
    response = client.post("/wecom/callback?msg_signature=x&timestamp=1&nonce=2", data=b"<xml/>")
    assert response.status_code == 404 and b"not configured" in response.get_data()
