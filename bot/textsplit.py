"""Split long replies at WeCom's byte limits (UTF-8 bytes: a Chinese character is 3)."""

from __future__ import annotations


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


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
            head = line.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
            parts.append(head)
            line = line[len(head):]
        current = line
    if current or not parts:
        parts.append(current)
    return parts
