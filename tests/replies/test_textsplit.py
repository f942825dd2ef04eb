"""Long replies cut at WeCom's byte limits: at a character boundary, never over the limit."""

from __future__ import annotations

from bot.core.textsplit import split_utf8, truncate_utf8, utf8_len


def test_truncate_utf8_cuts_at_a_character_boundary_within_the_limit():
    assert truncate_utf8("short", 10) == "short"
    cut = truncate_utf8("步" * 10, 10)  # 30 bytes into 10: two characters (6) + "…" (3)
    assert cut == "步步…" and utf8_len(cut) <= 10
    assert truncate_utf8("步" * 10, 10, ellipsis="") == "步步步"
    parts = split_utf8("步" * 10, 10)
    assert parts == ["步步步", "步步步", "步步步", "步"]
