"""Render chat replies from Jinja2 templates, in WeCom markdown or plain text, Chinese or English.

Chat templates live in ``templates/chat/<lang>/<name>.j2`` and are written in the small markdown
subset WeCom shows (bold, links, quotes, lists). The plain-text variant, for surfaces without
markdown (the app's passive reply), is derived from the same rendering, so wording is written once
per language; a template can still test ``md`` where the two must differ.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from bot.core.messages import Reply

LANGUAGES = ("zh", "en")
MARKDOWN = "markdown"
TEXT = "text"


class Renderer:
    def __init__(self, templates_dir: Path) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            autoescape=False,  # chat text, not HTML
            undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # no stat() per template per message; reworded templates apply on restart
        )
        self._labels: dict[tuple[str, str], str] = {}

    def render(self, reply: Reply, lang: str, fmt: str) -> str:
        lang = lang if lang in LANGUAGES else LANGUAGES[0]
        md = fmt == MARKDOWN
        template = self.env.get_template(f"chat/{lang}/{reply.template}.j2")
        text = _tidy(template.render(**reply.context, md=md, lang=lang))
        return text if md else to_plain(text)

    def button_label(self, key: str, lang: str) -> str:
        """A button's label (static wording, so rendered once per key and language)."""
        lang = lang if lang in LANGUAGES else LANGUAGES[0]
        label = self._labels.get((key, lang))
        if label is None:
            label = _tidy(self.env.get_template(f"chat/{lang}/buttons.j2").render(key=key))
            self._labels[(key, lang)] = label
        return label


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_TAG = re.compile(r"</?font[^>]*>")
_HEADER = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_QUOTE = re.compile(r"^>\s?", re.MULTILINE)
_MENTION = re.compile(r"<@([^>\s]+)>")  # a markdown mention; plain text can only name the user


def to_plain(markdown: str) -> str:
    """WeCom markdown → plain text: drop emphasis and tags, spell links out."""
    text = _LINK.sub(lambda m: f"{m.group(1)}: {m.group(2)}", markdown)
    text = _BOLD.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _QUOTE.sub("", text)
    text = _MENTION.sub(r"@\1", text)
    return _HEADER.sub("", text)


def _tidy(text: str) -> str:
    """Collapse runs of blank lines that template conditionals leave behind."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out)
