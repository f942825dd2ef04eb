"""Chinese first; English only when the user writes English (pinyin and codes are not English)."""

import pytest

from bot.core.language import detect_language


@pytest.mark.parametrize("text, previous, expected", [
    ("开始", "en", "zh"),
    ("start", "zh", "zh"),  # one word does not switch a Chinese-speaking user
    ("next", "zh", "zh"),
    ("next step please", "zh", "en"),  # a sentence does
    ("status", "en", "en"),
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


def test_a_new_user_is_answered_in_english_after_one_english_word():
    assert detect_language("start", "zh", settled=False) == "en"
    assert detect_language("61004", "zh", settled=False) == "zh"


def test_a_chinese_user_typing_next_keeps_getting_chinese(say):
    say("开始", user="hua")
    reply = say("next", user="hua")
    assert "第2步" in reply and "Step" not in reply
    assert "第2步" in say("status", user="hua")
    english = say("what is the next step", user="hua")  # a sentence: English from now on
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in english.splitlines()[0]), english
