"""Slots by rule: a step (digits, Chinese numerals, or by name) and a list of checklist items."""

from __future__ import annotations

import re

from bot.understand.lexicon import ContextWords, squash

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
              "十": 10, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6}
_NUM = r"(?:\d{1,2}|[一二两三四五六七八九十壹贰叁肆伍陆])"
_PINYIN_DIGITS = {"yi": 1, "er": 2, "san": 3, "si": 4, "wu": 5, "liu": 6}
# "第3步", "第三步", "步骤4", "step 3", "第4个步骤", "di3bu"
_STEP_RE = re.compile(
    rf"第\s*(?P<a>{_NUM})\s*(?:个)?\s*(?:步|步骤|部|布)|步骤\s*(?P<b>{_NUM})|step\s*(?P<c>\d{{1,2}})|\bdi\s*(?P<d>\d|yi|er|san|si|wu|liu)\s*bu\b"
)
# "前两项" = items 1 and 2; "第3项", "3条": an item, not a step (第3个步骤 is a step)
_FIRST_N_RE = re.compile(rf"前\s*(?P<n>{_NUM})\s*(?:项|个|条)")
_ITEM_MENTION_RE = re.compile(rf"第\s*{_NUM}\s*(?:项|条|个)(?!步)|{_NUM}\s*(?:项|条)|前\s*{_NUM}\s*(?:项|个|条)")
_RANGE_RE = re.compile(rf"(?P<lo>{_NUM})\s*(?:-|~|～|—|到|至)\s*(?P<hi>{_NUM})")
_ITEM_RE = re.compile(rf"(?<![\d.])(?:第\s*)?(?P<n>{_NUM})(?![\d.])")
_ALL_ITEMS_RE = re.compile(r"全部|全都|所有|都勾|all")


def number(raw: str) -> int:
    if raw in _CN_DIGITS:
        return _CN_DIGITS[raw]
    return _PINYIN_DIGITS[raw] if raw in _PINYIN_DIGITS else int(raw)


def mentions_items(text: str) -> bool:
    """The message names checklist items ("第一项弄好了"), so it is about items, not the whole step."""
    return bool(_ITEM_MENTION_RE.search(text))


def find_step(text: str, words: ContextWords) -> tuple[int | None, str]:
    """The step a message names, and the text with that mention removed (for the item search)."""
    lowered = text.lower()
    matches = list(_STEP_RE.finditer(lowered))
    if matches:
        # "第二步第三步都完事了": the furthest step named
        steps = [number(next(g for g in m.groups() if g)) for m in matches]
        return max(steps), _STEP_RE.sub(" ", lowered)
    squashed = squash(text)
    for name, step in words.step_names:
        if name and name in squashed:
            return step, lowered
    return None, lowered


def find_items(text: str, item_count: int) -> tuple[int, ...]:
    """Checklist items: "1 2 3", "1-3", "1和3", "第三个"; "全部" means every item of the step."""
    found: set[int] = set()
    for match in _FIRST_N_RE.finditer(text):
        found.update(range(1, min(number(match["n"]), 20) + 1))
    text = _FIRST_N_RE.sub(" ", text)
    for match in _RANGE_RE.finditer(text):
        lo, hi = number(match["lo"]), number(match["hi"])
        if 0 < lo <= hi <= 20:
            found.update(range(lo, hi + 1))
    rest = _RANGE_RE.sub(" ", text)
    for match in _ITEM_RE.finditer(rest):
        value = number(match["n"])
        if 0 < value <= 20:
            found.add(value)
    if not found and item_count and _ALL_ITEMS_RE.search(text):
        found.update(range(1, item_count + 1))
    return tuple(sorted(found))
