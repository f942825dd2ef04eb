"""Every phrase a template tells users to type (「**完成**」, "**done**") must read as a command.

A reply that says 回复「认证通过了」 promises the bot will understand exactly that; this check (run by
``python -m bot check`` and the tests) keeps the wording and the model in step.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.render import LANGUAGES
from bot.understand.reading import Context
from bot.understand.understander import Understander

# 回复「**开始**」, reply "**start**": a bold phrase in quotes is a phrase to type
_PROMPT = re.compile(r"[「\"“]\*\*(?P<phrase>[^*「」\"”{}]{1,20})\*\*[」\"”]")
# where each phrase is read: on a step, certification submitted (the result phrases) and with a
# question pending (是 / 不是); a phrase passes if it is understood in any of them
_CONTEXTS = (Context(step=1, item_count=6), Context(step=3, cert="submitted", item_count=3),
             Context(step=1, pending="confirm_reading", proposal={"intent": "done"}))
_UNDERSTOOD_AS_NOTHING = ("clarify", "question")


def prompts(templates_dir: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted((templates_dir / "chat").rglob("*.j2")):
        for match in _PROMPT.finditer(path.read_text(encoding="utf-8")):
            out.append((str(path.relative_to(templates_dir)), match["phrase"].strip()))
    return out


def unreadable_prompts(templates_dir: Path, understander: Understander) -> list[tuple[str, str, str]]:
    """(template, phrase, what it read as) for each prompted phrase the bot would not act on."""
    bad = []
    for name, phrase in prompts(templates_dir):
        readings = [understander.read(phrase, ctx) for ctx in _CONTEXTS]
        if all(r.intent in _UNDERSTOOD_AS_NOTHING for r in readings):
            bad.append((name, phrase, readings[0].intent))
    return bad



def missing_answers(templates_dir: Path, understander: Understander) -> list[str]:
    """Templates that a command answered from data (intents.yaml ``answer:``) names but that do not exist."""
    return [f"chat/{lang}/{answer}.j2" for answer in sorted(set(understander.answers.values()))
            for lang in LANGUAGES if not (templates_dir / "chat" / lang / f"{answer}.j2").is_file()]
