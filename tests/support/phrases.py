"""Example phrases that tests in several folders use, each defined once and named for what it is.

A phrase the bot reads differently after a change (or wording a template changes) is then changed here, in one
place, instead of breaking tests far from the change. ``tests/ops/test_test_layout.py`` fails when one of these
appears as a literal elsewhere, or when a Chinese literal of 4+ characters turns up in three test folders.
"""

from __future__ import annotations

# -- what users write ------------------------------------------------------------------------------------------
SUBMITTED_CERTIFICATION = "我已经提交认证了"  # read as cert_submitted
CERTIFICATION_PASSED = "认证通过了"  # cert_passed; the certification check also offers it as an answer
CERTIFICATION_FAILED = "认证失败了"  # cert_failed; offered by the check too
TICK_ITEM_1 = "勾选 1"  # ticks item 1 of the current step's checklist
TICK_ITEM_2 = "勾选 2"  # ticks item 2; a nudge suggests it when item 2 is open
UNTICK_ITEM_2 = "取消勾选 2"
STOP_REMINDERS = "别提醒了"  # mute
RESUME_REMINDERS = "恢复提醒"  # unmute
STATUS_WITH_A_MENTION = "@助手 进度"  # 进度 with the AI bot @-mentioned, as written in a group
WHERE_TO_SEE_THE_ORIGINAL_ID = "原始ID在哪里看"  # a question the FAQ answers
WHERE_IS_MY_APPID = "我的AppID在哪"  # a command answered from data (appid_where)
HOW_LONG_CERTIFICATION_TAKES = "认证要多久"  # a question
WHAT_IS_ERROR_61004 = "61004 是什么错误"  # a question about an official error code
WHAT_TO_DO_ABOUT_61004 = "61004 怎么办"  # the same, as the AI bot's text once its @-mention is taken out
STEP_1_DONE_EARLIER_SKIP_TO_STEP_2 = "第一步的东西我之前都弄完了，直接跳到第二步"

# -- what the bot's replies contain ----------------------------------------------------------------------------
HANDED_TO_A_PERSON = "转接人工客服"  # the hand-off reply (templates/chat/zh/human.j2, kf_handoff.j2)
SYSTEM_BUSY = "系统繁忙"  # the reply when Redis is out of reach (templates/chat/zh/system/busy.j2)
STEP_2_MARKED_CURRENT = "▶ 第2步"  # the overview's line for step 2 while it is the current one
