"""Chinese first; English when the user writes English."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Words that are English but say nothing about the user's language: product names and codes.
_NEUTRAL = {"appid", "appsecret", "secret", "id", "ip", "url", "key", "weda", "wecom", "ok", "gh", "wx",
            "spappid", "errcode", "errmsg", "api", "mp", "open"}


def detect_language(text: str, previous: str = "zh") -> str:
    """Return "zh" or "en". Any Chinese character means Chinese; real English words mean English;
    digits, codes and product names alone keep the user's previous language."""
    if _CJK.search(text):
        return "zh"
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    if any(w not in _NEUTRAL for w in words):
        return "en"
    return previous
