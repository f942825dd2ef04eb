"""Every secret shape a user may paste is masked (>= 99 % of random samples), ordinary text is not (<= 0.5 %).

scripts/secret_masking.py prints the same measurement with 10,000 samples per shape.
"""

from __future__ import annotations

import logging
import random

import pytest

from bot.core.redact import MASK, redact_secrets
from tests.support.redis_dump import everything_in_redis
from tests.support.secret_samples import (
    PASTE_FORMS,
    PEM_LAYOUTS,
    SHAPES,
    TOKEN_SHAPES,
    measure_detail,
    secret_message,
    secret_part,
    survives,
)


def test_every_shape_is_masked_and_ordinary_messages_are_not():
    rates, by_kind = measure_detail(1000, seed=13)
    missed = {key: rate for key, rate in rates.items() if key[1] == "*" and rate < 0.99}
    assert not missed, missed
    touched = {kind: rate for kind, rate in by_kind.items() if rate > 0.005}
    assert not touched, touched


@pytest.mark.parametrize("form", sorted(PASTE_FORMS))
@pytest.mark.parametrize("shape", sorted(TOKEN_SHAPES))
def test_each_token_pasted_in_each_way_is_masked_whole(shape, form):
    rnd = random.Random(f"{shape}/{form}")
    for _ in range(20):
        message, secret = secret_message(shape, rnd, form)
        redacted, found = redact_secrets(message)
        assert found and not survives(secret_part(shape, secret), redacted), (message, redacted)


@pytest.mark.parametrize("layout", PEM_LAYOUTS)
def test_pem_keys_in_every_layout_are_masked(layout):
    rnd = random.Random(layout)
    for _ in range(10):
        message, secret = secret_message("pem_private_key", rnd, layout)
        redacted, found = redact_secrets(message)
        assert found and not survives(secret_part("pem_private_key", secret), redacted), (message, redacted)


@pytest.mark.parametrize("text, value", [
    ("密码是Xy!9#ab", "Xy!9#ab"), ("口令：hunter2!", "hunter2!"), ("password=p@ss w0rd", "p@ss"),
    ("my secret key is Zq8!kLm#", "Zq8!kLm#"), ("AppSecret是abc!NAO12", "abc!NAO12"),
    ("密钥：`q1!w2@e3#`", "q1!w2@e3#"), ("密钥：ABCDEFGH!NAO", "NAO"),
])
def test_whatever_follows_a_password_keyword_is_masked(text, value):
    redacted, found = redact_secrets(text)
    assert found and value not in redacted, redacted


@pytest.mark.parametrize("text", [
    "AppID wx1234567890abcdef，原始ID gh_3c884a361561，企业ID ww0123456789abcdef",
    "云开发环境 lowcode-4g8abc12de5f 和 prod-7h2k9m1n3p",
    "https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/ThirdParty/token/"
    "component_access_token.html",
    "https://mp.weixin.qq.com/wxopen/devprofile?action=get_profile&token=&lang=zh_CN",
    "getAuthorizerAccessToken 返回 40001，rid: 6650a1b2-0c1d2e3f-4a5b6c7d",
    "订单号 42000012342024120112345 提交于 2026-12-01",
])
def test_what_support_needs_stays_readable(text):
    assert redact_secrets(text) == (text, False)


@pytest.mark.parametrize("url, kept", [
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
     "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="),
    ("https://api.weixin.qq.com/cgi-bin/component/api_component_token?component_access_token=78_abcDEF123",
     "https://api.weixin.qq.com/cgi-bin/component/api_component_token?component_access_token="),
    ("https://admin:hunter2hunter@example.com/x", "https://admin:"),
])
def test_credentials_inside_urls_are_masked_and_the_rest_kept(url, kept):
    redacted, found = redact_secrets(f"调用 {url} 报错")
    assert found and redacted.startswith(f"调用 {kept}{MASK}")


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_pasted_in_chat_is_warned_and_kept_nowhere(say, redis_client, caplog, shape):
    caplog.set_level(logging.DEBUG)
    message, secret = secret_message(shape, random.Random(shape))
    part = secret_part(shape, secret)
    say("开始", user="paster")
    reply = say(message, user="paster")
    assert "请勿在群里发送" in reply
    assert not survives(part, reply)
    assert not survives(part, everything_in_redis(redis_client))
    assert not survives(part, caplog.text)
