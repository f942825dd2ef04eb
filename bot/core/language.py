"""Chinese first; English when the user writes English.

Latin letters alone do not mean English: users type pinyin ("yuanshi id zai na li"), product names
and error codes. English is recognised by its common words, none of which is a pinyin syllable.

A Chinese user switches to English on a sentence, not on one word: people who otherwise write
Chinese type "next", "ok" or "status" out of habit, and answering them in English from then on
is wrong. A new user has no language yet, so for them one English word is enough.
"""

from __future__ import annotations

import re

from bot.infra.resources import resource_dir

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_ENGLISH = frozenset(
    word
    for line in (resource_dir("data/language") / "english_words.txt").read_text(encoding="utf-8").splitlines()
    if not line.startswith("#")
    for word in line.split()
)


SENTENCE_WORDS = 2  # English words it takes to move a Chinese-speaking user to English


def detect_language(text: str, previous: str = "zh", settled: bool = True) -> str:
    """Return "zh" or "en": any Chinese character means Chinese; English words mean English — at
    least SENTENCE_WORDS of them for a user already speaking Chinese (``settled``), one for a new
    user; anything else (pinyin, codes, product names, digits, a lone command word) keeps the
    previous language."""
    if _CJK.search(text):
        return "zh"
    words = _LATIN_WORD.findall(text)
    english = sum(1 for word in words if word.lower() in _ENGLISH)
    if previous == "en":
        return "en"
    needed = SENTENCE_WORDS if settled else 1
    if english >= needed and english * 2 >= len(words):  # mostly English, not a code with one word in it
        return "en"
    return previous
