"""Chinese first; English when the user writes English.

Latin letters alone do not mean English: users type pinyin ("yuanshi id zai na li"), product names
and error codes. English is recognised by its common words, none of which is a pinyin syllable.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_ENGLISH = frozenset("""
the is are was were be been am how what where why when which who whom whose do does did done i i'm i've my
mine we our us it its it's this that these those there their they them can can't could should would will won't
to of for with from into on at by not no yes please thanks thank hello hi hey help start status progress next
back reset mute unmute step check uncheck submitted submit passed failed fail failure error errors certification
certificate account key secret where's what's don't doesn't didn't isn't need want get got find found have has
had still again just only also and or but if then than about after before stuck working works work problem
issue human agent support finished complete completed sure confirm cancel mini program platform release
""".split())


def detect_language(text: str, previous: str = "zh") -> str:
    """Return "zh" or "en": any Chinese character means Chinese, common English words mean English,
    anything else (pinyin, codes, product names, digits) keeps the user's previous language."""
    if _CJK.search(text):
        return "zh"
    if any(word.lower() in _ENGLISH for word in _LATIN_WORD.findall(text)):
        return "en"
    return previous
