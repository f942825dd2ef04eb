"""The official error-code table (data/knowledge/codes/): every code answered, topics keep theirs, files agree.

The knowledge base is lexical-only here (FAQ_SEMANTIC=off is not needed: exact codes never reach the
model); the conversation tests go through the signed app callback against real Redis.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.faq import KnowledgeBase, KnowledgeError
from bot.faq.codes import normalize_message
from bot.faq.knowledge import load_topics
from bot.faq.official import OfficialCodes
from bot.faq.search import CODES_DIR

KNOWLEDGE = KnowledgeBase.default_dir()
TABLE = OfficialCodes.load(KNOWLEDGE / CODES_DIR)
TOPICS = load_topics(KNOWLEDGE)
TOPIC_CODES = {code: topic.id for topic in TOPICS.values() for code in topic.expanded_codes()}
# Codes users quoted in real questions (issue 24): each must be answered, none with "did you mean".
QUOTED = ("85007", "85085", "85052", "85080", "85014", "89021", "61003", "61007")


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base = KnowledgeBase.load(KNOWLEDGE, background=True)
    return KnowledgeBase(base.topics, base.lexicon, embedder=False, analyzer=base.analyzer, official=base.official)


def test_the_table_covers_the_apis_of_the_journey() -> None:
    groups = {entry.group for entry in TABLE.codes.values()}
    assert {"common", "component", "code_management", "operations"} <= groups
    prefixes = {code[:2] for code in TABLE.codes}
    assert {"40", "41", "42", "45", "48", "61", "85", "86", "87", "89"} <= prefixes
    assert len(TABLE) >= 100
    assert set(QUOTED) <= set(TABLE.codes)


@pytest.mark.parametrize("code", sorted(TABLE.codes))
def test_every_code_is_answered(kb: KnowledgeBase, code: str) -> None:
    for text in (f"报错 {code} 怎么办", f'{{"errcode":{code},"errmsg":"x"}}'):
        found = kb.search(text)
        if code in TOPIC_CODES:  # a topic that covers the code keeps its fuller answer
            assert found.confident and found.topic is not None and code in found.topic.expanded_codes(), text
        else:
            assert found.official is not None and found.official.code == code, text


def test_codes_no_topic_covers_are_answered_from_the_table_with_doc_and_action() -> None:
    uncovered = [c for c in TABLE.codes if c not in TOPIC_CODES]
    assert len(uncovered) >= 60
    for code in uncovered:
        entry = TABLE.codes[code]
        assert entry.doc.startswith("https://developers.weixin.qq.com/")
        assert entry.meaning_zh and entry.meaning_en and entry.do_zh and entry.do_en


def test_files_do_not_disagree() -> None:
    """An errmsg the table gives a code must not be a topic's message for another code."""
    for message, codes in TABLE.by_errmsg().items():
        for topic in TOPICS.values():
            topic_messages = {normalize_message(m) for m in topic.error_messages}
            if message in topic_messages and topic.error_codes:
                assert set(codes) & set(topic.expanded_codes()), (message, codes, topic.id)
    # and the other way round: a topic's errmsg that is in the table belongs to a code the topic covers
    table = TABLE.by_errmsg()
    for topic in TOPICS.values():
        for message in map(normalize_message, topic.error_messages):
            if message in table and topic.error_codes:
                assert set(table[message]) & set(topic.expanded_codes()), (topic.id, message, table[message])


def test_an_errmsg_without_its_code_finds_the_code(kb: KnowledgeBase) -> None:
    found = kb.search("提交审核时提示 must commit before submit audit 是什么意思")
    assert found.official is not None and found.official.code == "85086"
    assert TABLE.find("system error") is None  # too generic to name a code on its own


def test_a_broken_table_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("groups:\n- id: g\n  scope: maybe\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"x\.yaml.*scope"):
        OfficialCodes.load(tmp_path)
    (tmp_path / "x.yaml").write_text(
        "groups:\n- id: g\n  title_zh: 组\n  title_en: g\n  scope: registration\n  doc: https://e.x/\n"
        "  do_zh: 做\n  do_en: do\n  codes:\n  - {code: '1', zh: 一, en: one}\n  - {code: '1', zh: 一, en: one}\n",
        encoding="utf-8")
    with pytest.raises(KnowledgeError, match="listed twice"):
        OfficialCodes.load(tmp_path)


@pytest.mark.parametrize("code", QUOTED)
def test_quoted_codes_get_an_answer_in_the_chat(say, code: str) -> None:
    reply = say(f"提交的时候报错 {code}，这是什么问题")
    entry = TABLE.codes[code]
    if code in TOPIC_CODES:
        assert "解决了吗" in reply  # the topic's answer, with its feedback question
    else:
        assert f"错误码 {code}" in reply and entry.meaning_zh in reply and entry.doc in reply
    assert "超出了我知道的范围" not in reply


def test_an_operations_code_says_it_is_outside_registration(say) -> None:
    reply = say("添加体验者报 85002")
    assert "不在服务商注册流程里" in reply and TABLE.codes["85002"].meaning_zh in reply


def test_english_questions_get_the_english_meaning(say) -> None:
    reply = say("What does error 85007 mean when I submit for audit?")
    assert "Error code 85007" in reply and TABLE.codes["85007"].meaning_en in reply
