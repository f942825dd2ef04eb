"""The 微信客服 settings: three variables together, with the CorpID; enough on their own (no demo mode)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, kf_configured, load_settings

KF = {"WECOM_CORP_ID": "wwkfcorp01", "WECOM_KF_SECRET": "s3cret", "WECOM_KF_TOKEN": "kfToken1",
      "WECOM_KF_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}


def test_kf_settings_alone_are_a_deployment_not_demo_mode(tmp_path):
    settings = load_settings({**KF, "BOT_DATA_DIR": str(tmp_path)})
    assert not settings.demo and kf_configured(settings)
    assert settings.kf.receive_id == "wwkfcorp01" and not settings.app.token
    assert "s3cret" not in repr(settings) and "kfToken1" not in repr(settings)


@pytest.mark.parametrize("missing", ["WECOM_KF_SECRET", "WECOM_KF_TOKEN", "WECOM_KF_ENCODING_AES_KEY",
                                     "WECOM_CORP_ID"])
def test_a_missing_kf_variable_is_named(tmp_path, missing):
    env = {k: v for k, v in KF.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings({**env, "BOT_DATA_DIR": str(tmp_path)})


def test_demo_mode_has_kf_credentials_the_fake_can_derive(tmp_path):
    settings = load_settings({"BOT_DATA_DIR": str(tmp_path)})
    assert settings.demo and kf_configured(settings) and len(settings.kf.encoding_aes_key) == 43
