"""Slots by rule: a step (digits, Chinese numerals, or by name) and a list of checklist items."""

from __future__ import annotations

import re
import unicodedata

from bot.understand.lexicon import ContextWords, squash

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
              "十": 10, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6}
_NUM = r"(?:\d{1,2}|[一二两三四五六七八九十壹贰叁肆伍陆])"
_PINYIN_DIGITS = {"yi": 1, "er": 2, "san": 3, "si": 4, "wu": 5, "liu": 6}
_ENGLISH_DIGITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_CIRCLED = re.compile("[\u2460-\u2473]")  # ① .. ⑳
_EN = "one|two|three|four|five|six"
# A Chinese numeral inside a word is no number: 一下 / 一起 / 一直, 第三方 (平台), 十分.
_CN_NUM = r"[一二两三四五六七八九十壹贰叁肆伍陆](?![下起点些直共定样般遍会方分步])"
# "第3步", "第三步", "步骤4", "step 3", "step two", "第4个步骤", "di3bu"
_STEP_RE = re.compile(
    rf"第\s*(?P<a>{_NUM})\s*(?:个)?\s*(?:步|步骤|部|布)|步骤\s*(?P<b>{_NUM})|step\s*(?P<c>\d{{1,2}}|{_EN})\b"
    rf"|\bdi\s*(?P<d>\d|yi|er|san|si|wu|liu)\s*bu\b"
    # "goto 5", "jump to two", "跳5": a bare number right after a verb of moving (not 5项 / 5个)
    rf"|\b(?:goto|go\s*to|jump\s*to|switch\s*to)\s*(?P<e>\d|{_EN})\b|(?:跳到?|切到|转到)\s*(?P<f>\d)(?![\d项条个])"
)
# "前两项" = items 1 and 2; "第3项", "3条": an item, not a step (第3个步骤 is a step)
_FIRST_N_RE = re.compile(rf"(?<![以之从提目])前(?:面|边)?(?:的)?\s*(?P<n>{_NUM})\s*(?:项|个|条)")  # not 以前一个
# "后两项" = the last two items of the step
_LAST_N_RE = re.compile(rf"后(?:面|边)?(?:的)?\s*(?P<n>{_NUM})\s*(?:项|个|条)")
# "那一项", "这一条", "每一项": that item, not item 1
_THAT = r"(?<![那这哪每某任上])"  # "撤回上一条": the message before, not item 1
_ITEM_MENTION_RE = re.compile(rf"第\s*{_NUM}\s*(?:项|条|个)(?!步)|{_THAT}{_NUM}\s*(?:项|条)"
                              rf"|(?<![以之从提目然])[前后](?:面|边)?(?:的)?\s*{_NUM}\s*(?:项|个|条)")
# "1-3", "第二到第四个"
_RANGE_RE = re.compile(rf"(?P<lo>{_NUM})\s*(?:项|个|条)?\s*(?:-|~|～|—|–|−|到|至|\bto\b|\bthrough\b|\bthru\b)"
                       rf"\s*(?:第\s*)?(?P<hi>{_NUM})")  # "points 1 to 4 done" too
_ITEM_RE = re.compile(rf"(?<![\d.])(?:第\s*)?(?P<n>\d{{1,2}}(?![\d.])|{_THAT}{_CN_NUM})")
# "三个都弄完了": all of them when the step has three items; otherwise not a list of items
_ALL_N_RE = re.compile(rf"(?P<n>{_NUM})\s*(?:个|项|条)\s*(?:已经?|也)?\s*(?:都|全|均)")
_LIST_BEFORE = re.compile(r"(?:(?<!\d)\d|[一二三四五六七八九十壹贰叁肆伍陆])"  # one digit: "交了300 6个都" counts
                          r"\s*(?:项|个|条)?\s*[、,，和跟与及/\-~～到至]?\s*(?:第\s*)?$")
# "已完成的两项" counts too (no one says 第两项)
_ONE_ITEM = re.compile(r"(?<=[\u4e00-\u9fff])(?<![第和跟与及或、前后])一(?=\s*[项条])"
                       r"|(?<![第前后\d])[两俩](?=\s*[项条])(?!\s*[项条]\s*(?:已经?|也)?\s*[都全均])")
_ALL_ITEMS_RE = re.compile(r"全部|全都|所有|都勾|all")


def number(raw: str) -> int:
    if raw in _CN_DIGITS:
        return _CN_DIGITS[raw]
    if raw in _ENGLISH_DIGITS:
        return _ENGLISH_DIGITS[raw]
    return _PINYIN_DIGITS[raw] if raw in _PINYIN_DIGITS else int(raw)


def _plain(text: str) -> str:
    """Half-width, lower-case: ⑤ and ５ are 5, "Step" is "step"; ①② are two numbers, not 12."""
    text = _CIRCLED.sub(lambda m: f" {ord(m[0]) - 0x245F} ", text)
    return unicodedata.normalize("NFKC", text).lower()


def mentions_items(text: str) -> bool:
    """The message names checklist items ("第一项弄好了"), so it is about items, not the whole step."""
    return bool(_ITEM_MENTION_RE.search(_plain(text)))


def mentions_step(text: str) -> bool:
    """The message names a step ("第二步", "上传密钥那步"): about the step, not one of its items."""
    return bool(_STEP_RE.search(_plain(text))) or "那步" in text


def step_mentions(text: str) -> list[tuple[int, int]]:
    """(position, step) of each "第N步" in the text, in order."""
    lowered = _plain(text)
    return [(m.start(), number(next(g for g in m.groups() if g))) for m in _STEP_RE.finditer(lowered)]


def find_step(text: str, words: ContextWords) -> tuple[int | None, str]:
    """The step a message names, and the text with that mention removed (for the item search)."""
    lowered = _plain(text)
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


def last_items(text: str, item_count: int) -> tuple[int, ...]:
    """"后两项都好了": the last N items; read clause by clause, as "后面两个还在弄" is no report."""
    match = _LAST_N_RE.search(_plain(text))
    if not match or not item_count:
        return ()
    return tuple(range(max(1, item_count - number(match["n"]) + 1), item_count + 1))


def find_items(text: str, item_count: int) -> tuple[int, ...]:
    """Checklist items: "1 2 3", "1-3", "1和3", "第三个"; "全部" means every item of the step."""
    found: set[int] = set()
    # the 一 of "密钥一项", "还差一项" counts (one item), it names no item (第一项, 和一项 still do); the message
    # still mentions items, so a "done" in it stays a question of which
    text = _ONE_ITEM.sub("单", _plain(text))
    for match in _FIRST_N_RE.finditer(text):
        found.update(range(1, min(number(match["n"]), 20) + 1))
    text = _LAST_N_RE.sub(" ", _FIRST_N_RE.sub(" ", text))
    # "1 2 3项都好了", "第二到第四个都", "第三个都": the last of a list or range, or an ordinal; not a count of all
    counts = [m for m in _ALL_N_RE.finditer(text) if m["n"] in "两俩" or (  # "1和3两个都好了": 两 counts
        not _LIST_BEFORE.search(text, 0, m.start()) and not text[:m.start()].rstrip().endswith("第"))]
    for match in counts:
        if item_count and number(match["n"]) == item_count:
            found.update(range(1, item_count + 1))
    for match in reversed(counts):
        text = text[:match.start()] + " " + text[match.end():]
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
