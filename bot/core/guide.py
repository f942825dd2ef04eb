"""The six-step registration guide, loaded from data/guide/steps.yaml and checked at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.progress import STEP_COUNT


class GuideError(ValueError):
    """The guide file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def in_(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Link:
    label: Text
    url: str


@dataclass(frozen=True)
class Step:
    number: int
    title: Text
    items: tuple[Text, ...]
    warnings: tuple[Text, ...]
    links: tuple[Link, ...]

    def view(self, lang: str, checked: list[int] | None = None) -> dict[str, Any]:
        """The step as plain data for a template, in one language."""
        done = set(checked or [])
        return {
            "number": self.number,
            "title": self.title.in_(lang),
            "items": [{"n": i, "text": t.in_(lang), "done": i in done} for i, t in enumerate(self.items, 1)],
            "warnings": [w.in_(lang) for w in self.warnings],
            "links": [{"label": link.label.in_(lang), "url": link.url} for link in self.links],
        }


@dataclass(frozen=True)
class Guide:
    steps: tuple[Step, ...]
    before_start: tuple[Text, ...]
    cert_failure_checklist: tuple[Text, ...]
    faq_url: str

    def step(self, number: int) -> Step:
        return self.steps[number - 1]

    @classmethod
    def load(cls, path: Path) -> Guide:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise GuideError(f"{path}{where}: not valid YAML ({exc})") from exc
        if not isinstance(data, dict):
            raise GuideError(f"{path}: expected a mapping at the top")
        steps = [_step(path, i, raw) for i, raw in enumerate(data.get("steps") or [], 1)]
        if [s.number for s in steps] != list(range(1, STEP_COUNT + 1)):
            raise GuideError(f"{path}: steps must be numbered 1..{STEP_COUNT} in order")
        return cls(
            steps=tuple(steps),
            before_start=tuple(_text(path, "before_start", t) for t in data.get("before_start") or []),
            cert_failure_checklist=tuple(
                _text(path, "cert_failure_checklist", t) for t in data.get("cert_failure_checklist") or []
            ),
            faq_url=str(data.get("faq_url", "")),
        )


def _text(path: Path, where: str, raw: Any) -> Text:
    if not isinstance(raw, dict) or not isinstance(raw.get("zh"), str) or not isinstance(raw.get("en"), str):
        raise GuideError(f"{path}: {where}: each text needs 'zh' and 'en' strings")
    return Text(raw["zh"].strip(), raw["en"].strip())


def _step(path: Path, index: int, raw: Any) -> Step:
    where = f"step #{index}"
    if not isinstance(raw, dict):
        raise GuideError(f"{path}: {where}: expected a mapping")
    for name in ("number", "title_zh", "title_en", "items"):
        if name not in raw:
            raise GuideError(f"{path}: {where}: missing '{name}'")
    links = []
    for link in raw.get("links") or []:
        if not isinstance(link, dict) or not str(link.get("url", "")).startswith("http"):
            raise GuideError(f"{path}: {where}: each link needs label_zh, label_en and an http(s) url")
        links.append(Link(Text(str(link.get("label_zh", "")), str(link.get("label_en", ""))), link["url"]))
    return Step(
        number=int(raw["number"]),
        title=Text(str(raw["title_zh"]), str(raw["title_en"])),
        items=tuple(_text(path, f"{where} items", t) for t in raw["items"]),
        warnings=tuple(_text(path, f"{where} warnings", t) for t in raw.get("warnings") or []),
        links=tuple(links),
    )
