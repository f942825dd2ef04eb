"""Wording that neither contradicts itself nor misleads (issue 15, item 3)."""

from __future__ import annotations


def test_step_4_gives_one_instruction_and_a_short_note(say):
    say("第4步")
    brief = say("第4步")
    item = next(line for line in brief.splitlines() if "☐ 1." in line)
    assert "开放平台" in item and "公众平台" not in item  # one place to go, not two
    details = say("详情")
    assert "公众平台" in details.split("☐ 2.")[1]  # the guide's wording, as a note after the items


def test_the_upload_key_answer_links_the_mini_program_ci_docs_not_the_mini_game_ones(say):
    say("第4步")
    answer = say("代码上传密钥在哪里下载")
    assert "developers.weixin.qq.com/miniprogram/dev/devtools/ci.html" in answer
    assert "minigame" not in answer


def test_the_human_reply_neither_apologises_nor_names_staff(say, runtime):
    runtime.services.support_staff = ("staff1",)
    reply = say("人工")
    assert not reply.startswith("这个问题我可能帮不上") and "staff1" not in reply
