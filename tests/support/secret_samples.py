"""Random samples of every secret shape a user of the guide may paste, and of ordinary messages.

Used by scripts/secret_masking.py (the rates it prints) and tests/robustness/test_secret_masking.py (the
targets: each shape >= 99 % masked, ordinary messages <= 1 % touched). The shapes follow what the
consoles issue: WeChat AppSecrets (32 hex), WeCom app Secrets (43 base64url), EncodingAESKeys (43
alphanumerics), callback Tokens (32 alphanumerics), webhook keys (UUIDs), access tokens and tickets,
Tencent Cloud SecretId (AKID + 32) / SecretKey (32), PEM keys and upload-key contents, JWTs, and a
password (any characters) after 密码/口令/password/secret/密钥 是|:|=.

Written apart from the redactor (nothing here comes from ``bot.core.redact``): each secret is pasted in the
ways people paste (``PASTE_FORMS``: as is, spaced in groups of four, split over two lines, full-width,
a non-breaking or zero-width space inside, in backticks) and PEM keys in nine layouts; a sample counts
as masked only when no five characters of the secret survive, in any form.
"""

from __future__ import annotations

import base64
import json
import random
import string
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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


def _jwt(rnd: random.Random) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    header = part({"alg": rnd.choice(["HS256", "RS256"]), "typ": "JWT"})
    payload = part({"sub": str(rnd.randint(1, 10**9)), "iat": rnd.randint(10**9, 2 * 10**9),
                    "name": _pick(rnd, string.ascii_letters, rnd.randint(3, 12))})
    return f"{header}.{payload}.{_pick(rnd, B64URL, 43)}"


_PASSWORD_CHARS = ALNUM + "!@#$%^*_-+.~?"


def _password(rnd: random.Random) -> str:
    return _pick(rnd, _PASSWORD_CHARS, rnd.randint(8, 16))


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
    "jwt": _jwt,
    "password_after_keyword": _password,
}
# Shapes that are one token, pasted in every PASTE_FORM (PEM keys have their own layouts).
TOKEN_SHAPES = [name for name in SHAPES if name not in ("pem_private_key", "webhook_url_with_key",
                                                        "password_after_keyword")]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _groups(text: str, size: int, sep: str) -> str:
    return sep.join(text[i:i + size] for i in range(0, len(text), size))


def _insert(rnd: random.Random, text: str, what: str, times: int = 1) -> str:
    for _ in range(times):
        at = rnd.randint(1, len(text) - 1)
        text = text[:at] + what + text[at:]
    return text


PASTE_FORMS: dict[str, Callable[[str, random.Random], str]] = {
    "as is": lambda s, r: s,
    "groups of 4": lambda s, r: _groups(s, 4, " "),
    "groups of 4, full-width spaces": lambda s, r: _groups(s, 4, "\u3000"),
    "two lines": lambda s, r: _insert(r, s, "\n"),
    "full-width": lambda s, r: _fullwidth(s),
    "non-breaking space inside": lambda s, r: _insert(r, s, "\u00a0"),
    "zero-width inside": lambda s, r: _insert(r, s, r.choice(["\u200b", "\u200c", "\u2060", "\ufeff"]),
                                              r.randint(1, 3)),
    "backticks": lambda s, r: f"`{s}`",
}


PEM_LAYOUTS = ["pem", "pem crlf", "pem indented", "pem no END line", "pem full-width dashes", "pem in a code fence",
               "pem one line", "pem lower-case header", "pem cut short"]


def _pem_layouts(pem: str, rnd: random.Random) -> dict[str, str]:
    lines = pem.split("\n")
    return {
        "pem": pem,
        "pem crlf": pem.replace("\n", "\r\n"),
        "pem indented": "\n".join("    " + line for line in lines),
        "pem no END line": "\n".join(lines[:-1]),
        "pem full-width dashes": pem.replace("-----", "－－－－－"),
        "pem in a code fence": f"```\n{pem}\n```",
        "pem one line": " ".join(lines),
        "pem lower-case header": pem.replace("BEGIN", "begin").replace("END", "end"),
        "pem cut short": pem[:rnd.randint(len(lines[0]) + 20, len(pem) - 1)],
    }


_PASSWORD_CARRIERS = [
    "密码是{s}", "我的密码是 {s} 登不上", "口令：{s}", "口令={s}", "password={s}", "Password: {s}",
    "my secret key is {s}", "AppSecret是{s}", "密钥: `{s}`", "密钥：{s}", "secret = {s}", "密码为{s}，帮我看看",
]

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


_ORDINARY_TRICKY = [
    "密码是多少", "忘记密码了怎么办", "AppSecret是什么", "AppSecret是32位的吗", "密钥：在哪里看", "password is wrong",
    "my secret key is lost", "the token is expired", "token 过期了", "secret 是不是要重置", "口令是啥",
    "密码为空可以吗", "getAuthorizerAccessToken 和 componentVerifyTicket 的区别", "api_component_token 调不通",
    "Token和EncodingAESKey是什么", "AppSecret 是 AppID 吗", "password: 在哪改", "密钥：忘了",
]


def _spaced_numbers(rnd: random.Random) -> str:
    phone = "1" + str(rnd.randint(10**9, 10**10 - 1))
    order = str(rnd.randint(10**19, 10**20))
    return rnd.choice([f"手机 {_groups(phone, 4, ' ')} 收不到验证码", f"订单号 {_groups(order, 4, ' ')}",
                       f"卡号 {_groups(str(rnd.randint(10**15, 10**16)), 4, ' ')} 付款失败",
                       f"时间 {rnd.randint(2020, 2026)} {rnd.randint(1, 12):02d} {rnd.randint(1, 28):02d} 提交的"])


def _broken_lines(rnd: random.Random) -> str:
    words = ordinary(rnd).split(" ")
    return "\n".join(words) if len(words) > 1 else ordinary(rnd) + "\n" + ordinary(rnd)


def _password_question(rnd: random.Random) -> str:
    return rnd.choice(_ORDINARY_TRICKY)


ORDINARY_KINDS: dict[str, Callable[[random.Random], str]] = {
    "ordinary messages": ordinary,
    "full-width ordinary messages": lambda r: _fullwidth(ordinary(r)),
    "ordinary messages over several lines": _broken_lines,
    "ordinary messages with a non-breaking space": lambda r: ordinary(r).replace(" ", "\u00a0"),
    "spaced numbers (phones, orders, dates)": _spaced_numbers,
    "questions about passwords and keys": _password_question,
}


def secret_message(shape: str, rnd: random.Random, form: str | None = None) -> tuple[str, str]:
    """(message, the secret in it) for one sample of ``shape``, pasted in ``form`` (else one at random)."""
    secret = SHAPES[shape](rnd)
    if shape == "password_after_keyword":
        return rnd.choice(_PASSWORD_CARRIERS).format(s=secret), secret
    if shape == "pem_private_key":
        layouts = _pem_layouts(secret, rnd)
        return f"上传密钥文件内容：\n{layouts[form or rnd.choice(PEM_LAYOUTS)]}\n怎么办", secret
    if shape in TOKEN_SHAPES:
        pasted = PASTE_FORMS[form or rnd.choice(sorted(PASTE_FORMS))](secret, rnd)
        return rnd.choice(_CARRIERS).format(s=pasted), secret
    return rnd.choice(_CARRIERS).format(s=secret), secret


def secret_part(shape: str, secret: str) -> str:
    """What must not survive masking: the key itself (a webhook URL may keep its readable part)."""
    if shape == "webhook_url_with_key":
        return secret.rsplit("key=", 1)[-1]
    if shape == "pem_private_key":
        return "".join(secret.split("\n")[1:-1])  # the key material, not the BEGIN/END lines
    return secret


def _flat(text: str) -> str:
    """Text as compared: NFKC, without spaces, line breaks, zero-width characters."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and c not in "\u200b\u200c\u200d\u2060\ufeff")


def survives(secret: str, redacted: str, window: int = 5) -> bool:
    """Does any ``window`` characters of the secret survive in the masked text, in any form?"""
    flat, part = _flat(redacted), _flat(secret)
    return any(part[i:i + window] in flat for i in range(0, max(1, len(part) - window + 1)))


def measure(samples: int, seed: int = 2026) -> tuple[dict[str, float], float]:
    """(masked rate per shape, false-positive rate on ordinary messages), over ``samples`` each."""
    rates, by_kind = measure_detail(samples, seed)
    return {shape: rate for (shape, form), rate in rates.items() if form == "*"}, by_kind["*"]


def measure_detail(samples: int, seed: int = 2026) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """Masked rate per (shape, paste form) and per shape over all forms ("*"); false-positive rate per
    kind of ordinary message and over all ("*"). ``samples`` per shape and per ordinary kind."""
    from bot.core.redact import redact_secrets

    rnd = random.Random(seed)
    rates: dict[tuple[str, str], float] = {}
    for shape in SHAPES:
        hits: dict[str, list[bool]] = {}
        for _ in range(samples):
            form = rnd.choice(PEM_LAYOUTS if shape == "pem_private_key" else sorted(PASTE_FORMS))
            if shape not in TOKEN_SHAPES and shape != "pem_private_key":
                form = "as is"
            message, secret = secret_message(shape, rnd, form)
            redacted, found = redact_secrets(message)
            hits.setdefault(form, []).append(found and not survives(secret_part(shape, secret), redacted))
        for form, results in hits.items():
            rates[(shape, form)] = sum(results) / len(results)
        every = [r for results in hits.values() for r in results]
        rates[(shape, "*")] = sum(every) / len(every)
    by_kind: dict[str, float] = {}
    for kind, build in ORDINARY_KINDS.items():
        by_kind[kind] = sum(redact_secrets(build(rnd))[1] for _ in range(samples)) / samples
    by_kind["*"] = sum(by_kind.values()) / len(ORDINARY_KINDS)
    return rates, by_kind
