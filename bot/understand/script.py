"""Traditional characters read as simplified: "開放平台帳號註冊好了" is "开放平台帐号注册好了".

Why: every phrasing the bot learns from (intents, item names, cues, the knowledge base) is written in
simplified characters, so a user in Taiwan or Hong Kong met none of them ("帳號", "權限集", "嗎" asked
nothing) and a report of item 1 completed the whole step. OpenCC's own binding does it with its phrase
dictionaries (显著 and 著作 stay as they are), inside the wheel; about 2 µs a message.
"""

from __future__ import annotations

from functools import lru_cache

import opencc


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """The text in simplified characters; simplified text and other scripts come back as they were."""
    return _converter().convert(text) if text else text
