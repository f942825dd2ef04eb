"""WeChat's official error codes (``data/knowledge/codes/*.yaml``): what each code means and what to do.

Topics answer the codes they list with a fuller answer; a pasted code no topic covers (85007, 45009)
used to get "did you mean" at best, though WeChat documents every one of them. This table answers
those from the official meaning, says where to look, and says so when the code is about running
mini programs rather than registering as a provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.faq.codes import find_codes, find_message, message_pattern, normalize_message
from bot.faq.knowledge import KnowledgeError

SCOPES = ("registration", "operations")
MIN_ERRMSG_CHARS = 14  # "system error", "api limit": too generic to name a code without the number
_CODE_FIELDS = frozenset(("code", "errmsg", "zh", "en", "do_zh", "do_en"))
_GROUP_FIELDS = frozenset(("id", "title_zh", "title_en", "scope", "doc", "do_zh", "do_en", "codes"))


@dataclass(frozen=True)
class OfficialCode:
    """One documented error code, with its group's defaults already applied."""

    code: str
    group: str
    group_title_zh: str
    group_title_en: str
    scope: str
    doc: str
    meaning_zh: str
    meaning_en: str
    do_zh: str
    do_en: str
    errmsg: str = ""

    def meaning(self, lang: str = "zh") -> str:
        return self.meaning_en if lang == "en" else self.meaning_zh

    def action(self, lang: str = "zh") -> str:
        return self.do_en if lang == "en" else self.do_zh

    def group_title(self, lang: str = "zh") -> str:
        return self.group_title_en if lang == "en" else self.group_title_zh

    @property
    def outside_registration(self) -> bool:
        return self.scope != "registration"


class OfficialCodes:
    """The table, by code; :meth:`find` picks the first documented code a text mentions."""

    def __init__(self, codes: dict[str, OfficialCode]) -> None:
        self.codes = dict(codes)
        self._known = frozenset(self.codes)
        self._by_errmsg = {m: c[0] for m, c in self.by_errmsg().items() if len(m) >= MIN_ERRMSG_CHARS and len(c) == 1}
        self._errmsg_re = message_pattern(self._by_errmsg)

    def __len__(self) -> int:
        return len(self.codes)

    def get(self, code: str) -> OfficialCode | None:
        return self.codes.get(code)

    def find(self, text: str) -> OfficialCode | None:
        found = find_codes(text, self._known)
        if found:
            return self.codes[found[0]]
        message = find_message(text.lower(), self._errmsg_re)  # the errmsg pasted without its code
        return self.codes[self._by_errmsg[message]] if message else None

    def by_errmsg(self) -> dict[str, list[str]]:
        """Normalised errmsg -> the codes that return it (for consistency checks)."""
        out: dict[str, list[str]] = {}
        for entry in self.codes.values():
            if entry.errmsg:
                out.setdefault(normalize_message(entry.errmsg), []).append(entry.code)
        return out

    @classmethod
    def load(cls, directory: Path) -> OfficialCodes:
        """Every ``*.yaml`` in ``directory``; an absent directory is an empty table."""
        codes: dict[str, OfficialCode] = {}
        directory = Path(directory)
        if not directory.is_dir():
            return cls({})
        for path in sorted(directory.glob("*.yaml")):
            for entry in _load_file(path):
                if entry.code in codes:
                    raise KnowledgeError(f"{path.name}: code {entry.code} is listed twice")
                codes[entry.code] = entry
        return cls(codes)


def _text(raw: dict[str, Any], field: str, where: str, *, required: bool = True) -> str:
    value = raw.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"{where}: field {field!r} must be a non-empty string")
    return value.strip()


def _load_file(path: Path) -> list[OfficialCode]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{path.name}: cannot read error codes: {exc}") from None
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        raise KnowledgeError(f"{path.name}: top level must be a mapping with a 'groups' list")
    out: list[OfficialCode] = []
    for index, group in enumerate(groups):
        where = f"{path.name}: group #{index + 1}"
        if not isinstance(group, dict):
            raise KnowledgeError(f"{where}: must be a mapping")
        unknown = sorted(set(group) - _GROUP_FIELDS)
        if unknown:
            raise KnowledgeError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
        where = f"{path.name}: group {group.get('id')!r}"
        scope = _text(group, "scope", where)
        if scope not in SCOPES:
            raise KnowledgeError(f"{where}: scope must be one of {', '.join(SCOPES)}")
        doc = _text(group, "doc", where)
        if not doc.startswith("https://"):
            raise KnowledgeError(f"{where}: 'doc' must be an https:// URL")
        codes = group.get("codes")
        if not isinstance(codes, list) or not codes:
            raise KnowledgeError(f"{where}: 'codes' must be a non-empty list")
        for raw in codes:
            if not isinstance(raw, dict):
                raise KnowledgeError(f"{where}: every code must be a mapping")
            unknown = sorted(set(raw) - _CODE_FIELDS)
            if unknown:
                raise KnowledgeError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
            code = str(raw.get("code", "")).strip()
            if not code.lstrip("-").isdigit():
                raise KnowledgeError(f"{where}: {code!r} is not an error code")
            at = f"{where}, code {code}"
            out.append(OfficialCode(
                code=str(int(code)), group=_text(group, "id", where), scope=scope, doc=doc,
                group_title_zh=_text(group, "title_zh", where), group_title_en=_text(group, "title_en", where),
                meaning_zh=_text(raw, "zh", at), meaning_en=_text(raw, "en", at),
                do_zh=_text(raw, "do_zh", at, required=False) or _text(group, "do_zh", where),
                do_en=_text(raw, "do_en", at, required=False) or _text(group, "do_en", where),
                errmsg=_text(raw, "errmsg", at, required=False),
            ))
    return out
