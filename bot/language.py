"""Chinese first; English when the user writes English.

Latin letters alone do not mean English: users type pinyin ("yuanshi id zai na li"), product names
and error codes. English is recognised by its common words, none of which is a pinyin syllable.
"""

from __future__ import annotations

import re

from bot.resources import resource_dir

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_ENGLISH = frozenset(
    word
    for line in (resource_dir("data/language") / "english_words.txt").read_text(encoding="utf-8").splitlines()
    if not line.startswith("#")
    for word in line.split()
)


def detect_language(text: str, previous: str = "zh") -> str:
    """Return "zh" or "en": any Chinese character means Chinese, common English words mean English,
    anything else (pinyin, codes, product names, digits) keeps the user's previous language."""
    if _CJK.search(text):
        return "zh"
    if any(word.lower() in _ENGLISH for word in _LATIN_WORD.findall(text)):
        return "en"
    return previous
