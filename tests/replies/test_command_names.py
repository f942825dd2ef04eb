"""One name per command: 帮助 lists every command, and every template that tells users what to type uses the
name 帮助 uses ("进度", never "状态" in one place and "进度" in another)."""

from __future__ import annotations

import re

import pytest

from bot.config import PROJECT_ROOT
from bot.core.render import LANGUAGES
from bot.understand import Context
from tests.support.phrases import (
    CERTIFICATION_FAILED,
    CERTIFICATION_PASSED,
    RESUME_REMINDERS,
    STOP_REMINDERS,
    SUBMITTED_CERTIFICATION,
    TICK_ITEM_2,
    UNTICK_ITEM_2,
    WHERE_IS_MY_APPID,
)

TEMPLATES = PROJECT_ROOT / "templates" / "chat"
# Every command users can type (README, "Commands users can type"): its name in each language, and what the
# bot reads it as (a command answered from data is named by its answer).
COMMANDS = {
    "start": ("开始", "start"),
    "status": ("进度", "status"),
    "details": ("详情", "details"),
    "done": ("完成", "done"),
    "next": ("下一步", "next"),
    "back": ("上一步", "back"),
    "goto": ("第3步", "step 3"),
    "check": (TICK_ITEM_2, "check 2"),
    "uncheck": (UNTICK_ITEM_2, "uncheck 2"),
    "cert_submitted": (SUBMITTED_CERTIFICATION, "I have submitted the credentials"),
    "cert_passed": (CERTIFICATION_PASSED, "certification passed"),
    "cert_failed": (CERTIFICATION_FAILED, "certification failed"),
    "mute": (STOP_REMINDERS, "mute"),
    "unmute": (RESUME_REMINDERS, "unmute"),
    "reset": ("重置", "reset"),
    "appid_where": (WHERE_IS_MY_APPID, "where is my appid"),
    "human": ("人工", "human"),
    "help": ("帮助", "help"),
}
ANSWERS = {"zh": {"是", "不是", "确认"}, "en": {"yes", "no"}}  # replies to the bot's own questions
QUOTED = {"zh": re.compile(r"「\*\*(.+?)\*\*」"), "en": re.compile(r"\"\*\*(.+?)\*\*\"")}
BOLD = re.compile(r"\*\*(.+?)\*\*")
NUMBER = re.compile(r"\{\{[^}]*\}\}|\d+")


def _names(text: str, pattern: re.Pattern[str]) -> set[str]:
    return {NUMBER.sub("N", name).strip() for name in pattern.findall(text)}


def _help(lang: str) -> set[str]:
    return _names((TEMPLATES / lang / "help.j2").read_text(encoding="utf-8"), BOLD)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_lists_every_command(lang):
    index = LANGUAGES.index(lang)
    missing = [names[index] for names in COMMANDS.values() if NUMBER.sub("N", names[index]) not in _help(lang)]
    assert not missing, f"{lang}/help.j2 does not list {missing}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_template_names_a_command_as_help_does(lang):
    allowed = _help(lang) | ANSWERS[lang]
    strays = {}
    for path in sorted((TEMPLATES / lang).rglob("*.j2")):
        unknown = _names(path.read_text(encoding="utf-8"), QUOTED[lang]) - allowed
        if unknown:
            strays[path.name] = sorted(unknown)
    assert not strays, f"commands named otherwise than in help: {strays}"


def test_status_is_called_one_thing():
    text = "".join(p.read_text(encoding="utf-8") for p in (TEMPLATES / "zh").rglob("*.j2"))
    assert "「**状态**」" not in text and "「状态」" not in text


@pytest.mark.parametrize("intent", sorted(COMMANDS))
def test_each_name_help_gives_is_read_as_its_command(understander, intent):
    for lang, name in zip(LANGUAGES, COMMANDS[intent], strict=True):
        reading = understander.read(name, Context(step=2, cert="none", item_count=5, lang=lang))
        read_as = reading.answer or reading.intent
        if reading.intent == "clarify":  # context asks first ("which failed?"): what it read counts
            read_as = reading.proposal.intent if reading.proposal else reading.asked_by
        assert read_as == intent, (lang, name, reading)
