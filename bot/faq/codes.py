"""WeChat error codes: range expansion for the data files and detection in user text.

A pasted ``errcode 61004`` is the strongest signal a user can give, so codes are matched
exactly, apart from ranking, and only codes the knowledge base knows count. The official
``errmsg`` text ("access clientip is not registered") is just as specific, and users often
paste it without the code, so known messages are matched exactly too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_RANGE_RE = re.compile(r"^(-?\d+)\s*[~～]\s*(-?\d+)$")
_CODE_RE = re.compile(r"^-?\d+$")
MAX_RANGE = 1000

# 5-6 digit codes (optionally negative), not glued to letters/digits (ids, hex rids, IPs).
_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z.])(-?\d{5,6})(?![0-9A-Za-z])")
# Short codes such as -1 are too common as plain numbers; require an errcode-like context.
_SHORT_RE = re.compile(
    r"(?:errcode|err_code|errno|error\s*code|错误码|返回码|code)[\"'\s:=：]{0,4}(-?\d{1,4})(?!\d)",
    re.IGNORECASE,
)


class CodeSpecError(ValueError):
    """An ``error_codes`` entry is neither a code nor a ``lo~hi`` range."""


def expand_code_spec(spec: str) -> list[str]:
    """``"61004"`` -> ["61004"]; ``"85043~85048"`` -> the six codes."""
    spec = spec.strip()
    if _CODE_RE.match(spec):
        return [str(int(spec))]
    match = _RANGE_RE.match(spec)
    if not match:
        raise CodeSpecError(f"{spec!r} is not an error code or a range like 85043~85048")
    lo, hi = int(match.group(1)), int(match.group(2))
    if lo > hi or hi - lo > MAX_RANGE:
        raise CodeSpecError(f"{spec!r} is not a valid range (low~high, at most {MAX_RANGE} codes)")
    return [str(code) for code in range(lo, hi + 1)]


def find_codes(text: str, known: set[str] | frozenset[str]) -> list[str]:
    """Known error codes mentioned in ``text``, in order of first appearance."""
    found: list[tuple[int, str]] = []
    for match in _NUMBER_RE.finditer(text):
        code = match.group(1)
        if code not in known and code.startswith("-"):
            code = code[1:]  # "85043-85048": the dash is a separator, not a sign
        if code in known:
            found.append((match.start(), code))
    for match in _SHORT_RE.finditer(text):
        code = match.group(1)
        if code in known:
            found.append((match.start(1), code))
    seen: set[str] = set()
    ordered: list[str] = []
    for _, code in sorted(found):
        if code not in seen:
            seen.add(code)
            ordered.append(code)
    return ordered


# A code the user names as an error code ("errcode":40164, 错误码：50001), of any length.
_NAMED_CODE_RE = re.compile(
    r"(?:errcode|err_code|errno|error\s*code|错误码|错误代码|返回码)[\"'\s:=：]{0,4}(-?\d{1,7})(?!\d)",
    re.IGNORECASE,
)


def unknown_named_codes(text: str, known: set[str] | frozenset[str]) -> list[str]:
    """Error codes the text names explicitly that the knowledge base does not know.

    Then a matching errmsg ("invalid ip" inside 40164's "invalid ip …, not in whitelist") is
    another error's text, not ours, and must not win outright.
    """
    return [m.group(1) for m in _NAMED_CODE_RE.finditer(text) if str(int(m.group(1))) not in known]


_BARE_CODE_RE = re.compile(r"(?<![0-9A-Za-z.:/_-])(-?\d{5,7})(?![0-9A-Za-z])")


def unknown_codes(text: str, known: set[str] | frozenset[str]) -> list[str]:
    """Error-code-like numbers the knowledge base does not know: named ones of any length and bare
    5-7 digit numbers (45009, 9402203). A question about an error we have no topic for is about
    something else, however close its words come to one of our topics."""
    bare = [m.group(1).lstrip("-") for m in _BARE_CODE_RE.finditer(text)]
    found = unknown_named_codes(text, known) + [c for c in bare if c not in known and f"-{c}" not in known]
    return list(dict.fromkeys(found))


_MESSAGE_SPLIT_RE = re.compile(r"[\s_]+")


def normalize_message(message: str) -> str:
    """Lowercase, with runs of spaces and underscores as one space: "Refresh_Token  is" -> "refresh token is"."""
    return " ".join(_MESSAGE_SPLIT_RE.split(message.lower().strip()))


def message_pattern(messages: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for all (normalised) messages, longest first, on word boundaries."""
    alts = sorted({normalize_message(m) for m in messages if m.strip()}, key=len, reverse=True)
    if not alts:
        return None
    body = "|".join(r"[\s_]+".join(re.escape(word) for word in alt.split(" ")) for alt in alts)
    return re.compile(rf"(?<![a-z0-9_])(?:{body})(?![a-z0-9_])")


def find_message(text: str, pattern: re.Pattern[str] | None) -> str | None:
    """The first known error message in ``text`` (already lowercased), normalised; else None."""
    if pattern is None:
        return None
    match = pattern.search(text)
    return normalize_message(match.group(0)) if match else None


_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6}
# "步骤3", "第三步", "step 4" (but not 第三方): the user says which step they are on.
_STEP_RE = re.compile(r"步骤\s*([1-6一二三四五六])(?!\d)|第\s*([1-6一二三四五六])\s*步|(?<![a-z])step\s*([1-6])(?!\d)")


def find_step(text: str) -> tuple[int | None, str]:
    """The step a (lowercased) text mentions, and the text without the mention."""
    match = _STEP_RE.search(text)
    if not match:
        return None, text
    digit = next(g for g in match.groups() if g)
    step = _CN_DIGITS.get(digit) or int(digit)
    return step, f"{text[: match.start()]} {text[match.end() :]}"
