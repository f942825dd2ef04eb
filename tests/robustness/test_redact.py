"""redact_secrets: hide pasted secrets, keep the identifiers support needs."""

from __future__ import annotations

import base64
import secrets
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.redact import MASK, redact_secrets

APPSECRET = "3f2a9c7e1b4d8f6a0c5e7b9d2f4a6c8e"
AESKEY = "abcdefghijklmnopqrstuvwxyzABCDEFG0123456789"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0\n"
    "tRgeLezV6ffAt0gunVTLw7onLRnrq0\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    "text",
    [
        f"我的appsecret是 {APPSECRET} 帮看下",
        f"AppSecret: {APPSECRET.upper()}",
        f"EncodingAESKey {AESKEY}",
        f"secret={'x1' * 5}&appid=wx1234567890abcdef",
        '{"component_appsecret": "abc123XYZ789"}',
        "token: abcdefgh",
        "密钥：Abc123456789",
        "password=hunter2hunter2",
    ],
)
def test_secrets_are_hidden(text: str) -> None:
    redacted, found = redact_secrets(text)
    assert found
    assert MASK in redacted
    for secret in (APPSECRET, APPSECRET.upper(), AESKEY, "x1x1x1x1x1", "abc123XYZ789", "abcdefgh", "Abc123456789"):
        assert secret not in redacted
    assert "wx1234567890abcdef" in redacted or "wx1234567890abcdef" not in text


def test_pem_block_is_hidden_whole() -> None:
    redacted, found = redact_secrets(f"上传密钥文件内容：\n{PEM}\n后面的话")
    assert found
    assert redacted == f"上传密钥文件内容：\n{MASK}\n后面的话"


def test_unterminated_pem_block_is_hidden_to_the_end() -> None:
    redacted, found = redact_secrets("看下这个 -----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1Lf")
    assert found
    assert redacted == f"看下这个 {MASK}"


def test_long_base64_run_is_hidden() -> None:
    blob = base64.b64encode(secrets.token_bytes(48)).decode()
    while not (any(c.isupper() for c in blob) and any(c.islower() for c in blob) and any(c.isdigit() for c in blob)):
        blob = base64.b64encode(secrets.token_bytes(48)).decode()
    redacted, found = redact_secrets(f"key文件: {blob}")
    assert found and blob not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "appid wx1234567890abcdef 原始id gh_1234567890ab errcode 61004",
        "报错 85043~85048 之间",
        "AppSecret: 忘了咋办",
        "AppSecret忘了怎么办",
        "https://developers.weixin.qq.com/community/develop/doc/000ac2570c81d89c6da3c8c2364c00",
        "/home/user/projects/miniprogram/weda/serviceprovider/config/keys",
        "rid: 6650a1b2-0c1d2e3f-4a5b6c7d",
        "授权事件接收URL https://weda.example.com/wx/component/$APPID$/callback",
        "请问全网发布要多久，审核中好几天了",
        "component_verify_ticket 收不到",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact_secrets(text) == (text, False)


@given(st.sampled_from(string.hexdigits.lower()[:16]), st.integers(min_value=0, max_value=99999))
def test_app_ids_and_codes_are_never_redacted(hex_char: str, code: int) -> None:
    appid = "wx" + (hex_char * 16)
    text = f"小程序 {appid} 原始ID gh_{hex_char * 12} 报错 {code:05d}"
    assert redact_secrets(text) == (text, False)


@given(st.text(max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    once, _ = redact_secrets(text)
    twice, found_again = redact_secrets(once)
    assert twice == once
    assert not found_again or MASK in once
