"""Rendered screenshots of real error texts, for the OCR tests, the evaluation and the benchmark.

Nothing is committed but this code: every picture is drawn with Pillow and Debian's CJK fonts
(fonts-wqy-microhei, fonts-wqy-zenhei) when it is needed. Layouts imitate what users paste: a WeChat
or WeDa error dialog, a console page with a red error line, a JSON response in a browser's network
panel, a phone screenshot. Variations: font, size, scale, light/dark theme, JPEG quality, crops.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
LAYOUTS = ("dialog", "console", "network", "mobile")


def fonts() -> list[str]:
    """The CJK fonts installed here (the tests skip without one: apt-get install fonts-wqy-microhei)."""
    return [f for f in FONT_FILES if Path(f).is_file()]


@dataclass(frozen=True)
class Case:
    """One error as users meet it: its code (None for an errmsg-only or a code-less text), the errmsg,
    the message a console shows, the API called, and the label that answers it (a code or a topic id)."""

    code: str | None
    errmsg: str
    headline: str
    api: str = "cgi-bin/component/api_component_token"
    label: str = ""


# Real error texts: errmsg as WeChat returns it (where no English errmsg is documented, the official
# description from the return-code table), headlines as a console would phrase them.
CASES: tuple[Case, ...] = (
    Case("61004", "access clientip is not registered requestIP: 1.2.3.4 rid: 6470-0719e11e",
         "授权失败，请检查白名单配置"),
    Case("61003", "component is not authorized by this account", "调用失败：小程序未授权给第三方平台",
         "cgi-bin/component/api_authorizer_token"),
    Case("61005", "component ticket is expired rid: 64f69b23-60f73830", "获取令牌失败"),
    Case("61006", "component ticket is invalid rid: 61b2c8e7-5746986a", "获取令牌失败，ticket无效"),
    Case("61007", "api is unauthorized to component rid: 5f87eb8a-6ee66b1b", "接口调用失败", "wxa/modify_domain"),
    Case("61023", "refresh_token is invalid rid: 6638c156-2d826832", "刷新授权令牌失败",
         "cgi-bin/component/api_authorizer_token"),
    Case("40013", "invalid appid rid: 6129d411-3b2e", "提交凭证失败：AppID 不合法"),
    Case("40125", "invalid appsecret rid: 6466da9b-462db241", "服务商认证失败"),
    Case("85009", "already submit a version under auditing rid: 619476dc-0f37484a", "提交审核失败",
         "wxa/submit_audit"),
    Case("85085", "submit audit reach limit, please try later rid: 5fbf7f40-7ae335c6", "提交审核失败",
         "wxa/submit_audit"),
    Case("85086", "must commit before submit audit rid: 5fc88fcc-23d06947", "提审失败：请先上传代码",
         "wxa/submit_audit"),
    Case("85007", "页面路径错误 rid: 64ddecfe-48c74563", "提交审核失败：页面路径错误", "wxa/submit_audit"),
    Case("85014", "template not exist rid: 5ffc3440-785fe334", "上传代码失败", "wxa/commit"),
    Case("85045", "some path in ext_json not exist rid: 63609a75-009cc543", "上传代码失败", "wxa/commit"),
    Case("85052", "app is already released rid: 63609a75-119d1311", "发布失败", "wxa/release"),
    Case("85080", "小程序提交的审核未审核通过", "发布失败：审核未通过", "wxa/release"),
    Case("85020", "status not allowed rid: 64ddecfe-586fbc5d", "发布失败", "wxa/release"),
    Case("89021", "请求保存的域名不是第三方平台中已设置的小程序业务域名或子域名", "设置业务域名失败",
         "wxa/setwebviewdomain"),
    Case("45009", "api freq out of limit rid: 5f9fc48b-73fb8347", "调用太频繁"),
    Case("40164", "invalid ip 47.95.215.232 ipv6 ::ffff:47.95.215.232, not in whitelist", "获取 access_token 失败",
         "cgi-bin/token"),
    Case("48001", "api unauthorized rid: 6470-25594278", "接口调用失败", "wxa/get_category"),
    Case("42001", "access_token expired rid: 64705d91-0719e11e", "调用失败", "wxa/commit"),
    Case("61011", "invalid component rid: 6466da9b-25cf7754", "提交凭证失败"),
    Case("86002", "小程序还未设置昵称、头像、简介", "提交审核失败", "wxa/submit_audit"),
)


def label_of(case: Case) -> str:
    return case.label or (case.code or "")


def _lines(case: Case, layout: str) -> list[tuple[str, str]]:
    """(role, text) lines of one layout: "title", "error", "text", "code" (monospace-ish), "button"."""
    body = json.dumps({"errcode": int(case.code), "errmsg": case.errmsg}, ensure_ascii=False) if case.code \
        else json.dumps({"errmsg": case.errmsg})
    if layout == "dialog":
        return [("title", "提示"), ("text", case.headline), ("error", f"错误码：{case.code}" if case.code else ""),
                ("code", case.errmsg[:60]), ("button", "确定")]
    if layout == "console":
        return [("title", "微搭 · 小程序发布"), ("text", "服务商授权  >  发布记录"),
                ("error", f"✖ {case.headline}（{case.code}）" if case.code else f"✖ {case.headline}"),
                ("code", case.errmsg[:64]), ("text", "请根据错误信息排查后重试")]
    if layout == "network":
        return [("title", "Network  Headers  Preview  Response"),
                ("text", f"POST https://api.weixin.qq.com/{case.api}"),
                ("code", body[:70]), ("code", body[70:140])]
    return [("title", "12:08                    5G"), ("title", case.headline),
            ("error", f"errcode: {case.code}" if case.code else "errcode: -"), ("code", case.errmsg[:34]),
            ("code", case.errmsg[34:68]), ("button", "我知道了")]


def render(case: Case, *, layout: str = "dialog", font: str | None = None, size: int = 22, dark: bool = False,
           scale: float = 1.0, jpeg: int | None = None, crop: float = 0.0, seed: int = 0) -> bytes:
    """One screenshot as PNG (or JPEG of quality ``jpeg``) bytes."""
    rng = random.Random(seed)
    font_file = font or fonts()[0]
    bg, fg, err, muted = (("#1e1f22", "#e6e6e6", "#ff6b6b", "#9aa0a6") if dark
                          else ("#ffffff", "#1f1f1f", "#d93026", "#666666"))
    lines = [(role, text) for role, text in _lines(case, layout) if text]
    width = 420 if layout == "mobile" else 900
    height = 80 + int(len(lines) * size * 2.1)
    image = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(image)
    y = 30
    for role, text in lines:
        glyphs = ImageFont.truetype(font_file, size + (4 if role == "title" else 0))
        colour = err if role == "error" else muted if role in ("title", "button") else fg
        x = 40 + rng.randint(0, 12)
        if role == "button":
            draw.rounded_rectangle((x - 10, y - 6, x + size * 5, y + size + 8), radius=6, outline=muted)
        draw.text((x, y), text, font=glyphs, fill=colour)
        y += int(size * 2.0)
    if scale != 1.0:
        image = image.resize((max(16, int(width * scale)), max(16, int(height * scale))), Image.Resampling.LANCZOS)
    if crop:
        w, h = image.size
        image = image.crop((int(w * crop * 0.3), 0, w, int(h * (1 - crop * 0.2))))
    out = io.BytesIO()
    if jpeg:
        image.save(out, "JPEG", quality=jpeg)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def evaluation_set(count: int = 120, seed: int = 24) -> list[tuple[str, Case, dict]]:
    """``count`` labelled variations (name, case, render options), deterministic for a seed."""
    rng = random.Random(seed)
    installed = fonts()
    out = []
    for n in range(count):
        case = CASES[n % len(CASES)]
        options = {
            "layout": LAYOUTS[(n // len(CASES) + n) % len(LAYOUTS)],
            "font": installed[n % len(installed)],
            "size": rng.choice((16, 18, 20, 22, 26, 30)),
            "dark": rng.random() < 0.35,
            "scale": rng.choice((0.75, 1.0, 1.0, 1.25, 1.5, 2.0)),
            "jpeg": rng.choice((None, None, 90, 70, 50)),
            "crop": rng.choice((0.0, 0.0, 0.15, 0.3)),
            "seed": n,
        }
        out.append((f"{n:03d}-{case.code}-{options['layout']}", case, options))
    return out


if __name__ == "__main__":  # python -m tests.support.screenshots 61004.png [CODE [LAYOUT]]: one screenshot for the demo
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "61004.png")
    wanted = sys.argv[2] if len(sys.argv) > 2 else "61004"
    layout = sys.argv[3] if len(sys.argv) > 3 else "dialog"
    chosen = next((c for c in CASES if c.code == wanted), CASES[0])
    target.write_bytes(render(chosen, layout=layout))
    print(f"{target}: a {layout} showing error {chosen.code}")
