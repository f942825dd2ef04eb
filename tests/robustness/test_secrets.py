"""Secrets pasted into chat: the user is warned, and the secret is never stored or logged in clear."""

from __future__ import annotations

import logging

import pytest

from tests.support.redis_dump import everything_in_redis

APPSECRET = "9f86d081884c7d659a2feaa0c55ad015"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)
UPLOAD_KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj" * 2


@pytest.mark.parametrize("message, secret", [
    (f"我的AppSecret是 {APPSECRET} 帮我看看对不对", APPSECRET),
    (f"EncodingAESKey: {AES_KEY}", AES_KEY),
    (f"上传密钥文件内容：\n{PRIVATE_KEY}", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"),
    (f"private.wx1234.key 里面是 {UPLOAD_KEY_BODY}", UPLOAD_KEY_BODY[:40]),
    (f"secret={APPSECRET}", APPSECRET),
])
def test_pasted_secret_is_warned_and_never_kept(say, redis_client, caplog, message, secret):
    caplog.set_level(logging.DEBUG)
    say("开始", user="leaky")
    reply = say(message, user="leaky")
    assert "请勿在群里发送" in reply and "重置" in reply
    assert secret not in reply
    assert secret not in everything_in_redis(redis_client)
    assert secret not in caplog.text


def test_ordinary_ids_are_not_mistaken_for_secrets(say):
    reply = say("我的原始ID是 gh_3c884a361561，AppID 是 wx1234567890abcdef，报错 61004", user="careful")
    assert "请勿在群里发送" not in reply
