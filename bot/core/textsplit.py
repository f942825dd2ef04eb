"""Split long replies at WeCom's byte limits (UTF-8 bytes: a Chinese character is 3)."""

from __future__ import annotations

ELLIPSIS = "…"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def truncate_utf8(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """``text`` cut at a character boundary so its UTF-8 form, ``ellipsis`` included, fits ``limit`` bytes."""
    if utf8_len(text) <= limit:
        return text
    room = limit - utf8_len(ellipsis)
    return text.encode("utf-8")[:room].decode("utf-8", errors="ignore") + ellipsis


def split_utf8(text: str, limit: int) -> list[str]:
    """Split into parts of at most ``limit`` bytes, at line breaks where possible, never mid-character."""
    if limit < 8:
        raise ValueError("limit too small")
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf8_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while utf8_len(line) > limit:  # one line longer than a whole part: cut it by characters
            head = truncate_utf8(line, limit, ellipsis="")
            parts.append(head)
            line = line[len(head):]
        current = line
    if current or not parts:
        parts.append(current)
    return parts
