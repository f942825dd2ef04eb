"""Chinese first; English only when the user writes English (pinyin and codes are not English)."""

import pytest

from bot.language import detect_language


@pytest.mark.parametrize("text, previous, expected", [
    ("开始", "en", "zh"),
    ("start", "zh", "en"),
    ("how do I find the original id", "zh", "en"),
    ("yuanshi id zai na li", "zh", "zh"),  # pinyin
    ("appsecret wangle", "zh", "zh"),
    ("61004", "en", "en"),  # a code keeps the language
    ("ok", "zh", "zh"),
    ("I have submitted the AppSecret", "zh", "en"),
    ("认证 failed", "en", "zh"),  # any Chinese means Chinese
])
def test_detect_language(text, previous, expected):
    assert detect_language(text, previous) == expected
