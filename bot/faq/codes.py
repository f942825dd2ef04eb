"""WeChat error codes: range expansion for the data files and detection in user text.

A pasted ``errcode 61004`` is the strongest signal a user can give, so codes are matched
exactly, apart from ranking, and only codes the knowledge base knows count.
"""

from __future__ import annotations

import re

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
