"""Random samples of every secret shape a user of the guide may paste, and of ordinary messages.

Used by scripts/secret_masking.py (the rates it prints) and tests/robustness/test_secret_masking.py (the
targets: each shape >= 99 % masked, ordinary messages <= 1 % touched). The shapes follow what the
consoles issue: WeChat AppSecrets (32 hex), WeCom app Secrets (43 base64url), EncodingAESKeys (43
alphanumerics), callback Tokens (32 alphanumerics), webhook keys (UUIDs), access tokens and tickets,
Tencent Cloud SecretId (AKID + 32) / SecretKey (32), PEM keys and upload-key contents.
"""

from __future__ import annotations

import base64
import random
import string
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALNUM = string.ascii_letters + string.digits
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"


def _pick(rnd: random.Random, alphabet: str, n: int) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(n))


def _pem(rnd: random.Random) -> str:
    body = base64.b64encode(rnd.randbytes(rnd.randint(90, 600))).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    kind = rnd.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"])
    return f"-----BEGIN {kind}-----\n{lines}\n-----END {kind}-----"


# Each shape: (the secret, built from rnd). The secret must vanish from the masked text.
SHAPES: dict[str, Callable[[random.Random], str]] = {
    "appsecret_hex32": lambda r: _pick(r, HEX, 32) if r.random() < 0.8 else _pick(r, HEX.upper() + "0", 32),
    "wecom_app_secret_b64url43": lambda r: _pick(r, B64URL, 43),
    "encoding_aes_key_43": lambda r: _pick(r, ALNUM, 43),
    "callback_token_32": lambda r: _pick(r, ALNUM, 32),
    "webhook_key_uuid": lambda r: str(uuid.UUID(bytes=r.randbytes(16), version=4)),
    "webhook_url_with_key": lambda r: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="
                                      + str(uuid.UUID(bytes=r.randbytes(16), version=4)),
    "wechat_access_token": lambda r: f"{r.randint(10, 99)}_" + _pick(r, B64URL, r.randint(120, 160)),
    "wecom_access_token": lambda r: _pick(r, B64URL, r.choice([64, 128, 214])),
    "component_verify_ticket": lambda r: "ticket@@@" + _pick(r, B64URL, 86),
    "tencent_secret_id": lambda r: "AKID" + _pick(r, ALNUM, 32),
    "tencent_secret_key": lambda r: _pick(r, ALNUM, 32),
    "pem_private_key": _pem,
    "upload_key_base64": lambda r: base64.b64encode(r.randbytes(r.randint(60, 300))).decode(),
}

# What the secret is written into: how people paste (labels, full-width colons, quotes, lines).
_CARRIERS = [
    "{s}", "我的密钥是{s}", "AppSecret：{s} 对吗", "这个是 {s} ，帮我看看", "secret {s}", "看一下\n{s}\n谢谢",
    "配置如下 Token={s}", '"{s}"', "key: {s}", "复制的是{s}。", "Here it is: {s}", "（{s}）", "SecretKey {s} 报错了",
    "{s} 这个对不对", "webhook {s}", "access_token {s} 过期了吗",
]

_ORDINARY_TEMPLATES = [
    "小程序 AppID 是 {appid}，原始ID {gh}，报错 {code}", "AppID：{appid}", "我的 appid {appid} 提交认证失败",
    "原始ID gh_{hex12} 在哪里看", "企业ID {corp} 对吗", "errcode {code} errmsg invalid appid", "报错 {code}",
    "错误码{code}是什么意思", "提示 {code} access clientip is not registered, rid: {rid}",
    "按文档 {url} 操作的", "参考 {url}", "回调地址填 {callback}", "授权事件接收URL {callback}",
    "云开发环境 {env} 找不到", "环境ID是 {env}", "上传密钥文件 private.{appid}.key 下载了", "订单号 {order}",
    "{date} 提交的，现在还在审核", "腾讯云账号 {uin} 已经关联", "版本 {ver} 发布失败", "手机 {phone} 收不到验证码",
    "邮箱 {email} 可以吗", "服务器 IP {ip} 加到白名单了", "{q}", "{q}", "{q}", "{q}", "{q} {appid}",
    "请问 {code} 和 {code2} 有什么区别", "callback {callback} 返回 {code}", "component_verify_ticket 收不到",
    "AppSecret忘了怎么办", "Token 和 EncodingAESKey 在哪里填", "the AppID is {appid} and the error is {code}",
    "step 3 failed with {code}, rid {rid}", "see {url}", "I registered on {date}, still pending",
    "getAuthorizerAccessToken 返回 {code}", "component_access_token 怎么获取", "第{n}步完成了",
]


def _question_corpus() -> list[str]:
    """Real-sounding user questions (the FAQ evaluation sets)."""
    questions = []
    for name in ("faq_eval.tsv", "faq_holdout.tsv"):
        path = ROOT / "tests" / "data" / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#"):
                    questions.append(line.split("\t")[0])
    return questions or ["全网发布要多久"]


_QUESTIONS = _question_corpus()
_URLS = [
    "https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/ThirdParty/token/"
    "component_access_token.html", "https://open.weixin.qq.com/", "https://cloud.tencent.com/document/product/1301",
    "https://developers.weixin.qq.com/community/develop/doc/000ac2570c81d89c6da3c8c2364c00",
    "https://mp.weixin.qq.com/wxopen/devprofile?action=get_profile&token=&lang=zh_CN",
    "https://console.cloud.tencent.com/lowcode/overview/index?envId=lowcode-4g8abc12de",
    "https://developer.work.weixin.qq.com/document/path/90930",
]


def ordinary(rnd: random.Random) -> str:
    """An ordinary message: questions, identifiers support needs, codes, URLs without credentials."""
    hex16 = _pick(rnd, HEX, 16)
    values = {
        "appid": "wx" + hex16, "gh": "gh_" + _pick(rnd, HEX, 12), "hex12": _pick(rnd, HEX, 12),
        "corp": "ww" + _pick(rnd, HEX, 16), "code": str(rnd.choice([61004, 40013, 89001, 85043, 61023, 40001,
                                                                      -1, 0, 48001, 9403, 89247, 45009])),
        "code2": str(rnd.randint(40000, 99999)), "rid": "-".join(_pick(rnd, HEX, 8) for _ in range(3)),
        "url": rnd.choice(_URLS), "callback": rnd.choice([
            "https://weda.example.com/wx/component/$APPID$/callback", "https://api.example.cn/wecom/callback",
            f"https://{_pick(rnd, 'abcdefgh', 6)}.tcloudbaseapp.com/callback"]),
        "env": rnd.choice(["lowcode-", "prod-", "test-", "weda-"]) + _pick(rnd, string.ascii_lowercase + "0123456789",
                                                                          rnd.randint(8, 20)),
        "order": str(rnd.randint(10**19, 10**20)), "date": f"2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
        "uin": str(rnd.randint(10**9, 10**10)), "ver": f"{rnd.randint(1, 3)}.{rnd.randint(0, 20)}.{rnd.randint(0, 99)}",
        "phone": "1" + str(rnd.randint(10**9, 10**10 - 1)), "email": f"{_pick(rnd, 'abcxyz', 6)}@example.com",
        "ip": ".".join(str(rnd.randint(1, 254)) for _ in range(4)), "q": rnd.choice(_QUESTIONS),
        "n": str(rnd.randint(1, 6)),
    }
    return rnd.choice(_ORDINARY_TEMPLATES).format(**values)


def secret_message(shape: str, rnd: random.Random) -> tuple[str, str]:
    """(message, the secret in it) for one sample of ``shape``."""
    secret = SHAPES[shape](rnd)
    return rnd.choice(_CARRIERS).format(s=secret), secret


def secret_part(shape: str, secret: str) -> str:
    """What must not survive masking: the key itself (a webhook URL may keep its readable part)."""
    return secret.rsplit("key=", 1)[-1] if shape == "webhook_url_with_key" else secret


def measure(samples: int, seed: int = 2026) -> tuple[dict[str, float], float]:
    """(masked rate per shape, false-positive rate on ordinary messages), over ``samples`` each."""
    from bot.redact import redact_secrets

    rnd = random.Random(seed)
    rates: dict[str, float] = {}
    for shape in SHAPES:
        masked = 0
        for _ in range(samples):
            message, secret = secret_message(shape, rnd)
            redacted, found = redact_secrets(message)
            if found and secret_part(shape, secret) not in redacted:
                masked += 1
        rates[shape] = masked / samples
    touched = sum(redact_secrets(ordinary(rnd))[1] for _ in range(samples))
    return rates, touched / samples
