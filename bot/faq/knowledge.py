"""Knowledge topics and their validating YAML loader.

Support staff edit ``data/knowledge/*.yaml`` by hand, so every mistake must surface as a
:class:`KnowledgeError` that names the file, the entry (id or index) and, where known, the line —
a silent half-loaded knowledge base would make the bot answer wrongly without anyone noticing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.faq.codes import CodeSpecError, expand_code_spec

REQUIRED_TEXT = ("title_zh", "title_en", "answer_zh", "answer_en", "source")
LIST_FIELDS = ("error_codes", "error_messages", "keywords", "phrasings")
KNOWN_FIELDS = frozenset(("id", "step", *REQUIRED_TEXT, *LIST_FIELDS))
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class KnowledgeError(ValueError):
    """A knowledge file is malformed; the message says which file, entry and line."""


@dataclass(frozen=True)
class Topic:
    """One troubleshooting topic; ``step`` is 1-6 or None for general questions."""

    id: str
    step: int | None
    title_zh: str
    title_en: str
    answer_zh: str
    answer_en: str
    source: str
    error_codes: tuple[str, ...] = ()
    error_messages: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    phrasings: tuple[str, ...] = ()
    file: str = ""

    def title(self, lang: str = "zh") -> str:
        """Title in ``lang`` ("zh" or "en"), falling back to Chinese."""
        return self.title_en if lang == "en" else self.title_zh

    def answer(self, lang: str = "zh") -> str:
        """Answer in ``lang`` ("zh" or "en"), falling back to Chinese."""
        return self.answer_en if lang == "en" else self.answer_zh

    def expanded_codes(self) -> list[str]:
        """Error codes with ranges such as ``85043~85048`` spelled out."""
        out: list[str] = []
        for spec in self.error_codes:
            out.extend(expand_code_spec(spec))
        return out


class _LineDict(dict):
    """A mapping that remembers the line it started on (for error messages)."""

    line: int = 0


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys and records mapping line numbers."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _entry_name(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"].strip():
        return f"entry {raw['id']!r} (#{index + 1})"
    return f"entry #{index + 1}"


def _where(path: Path, raw: Any, index: int) -> str:
    line = getattr(raw, "line", 0)
    suffix = f", line {line}" if line else ""
    return f"{path.name}: {_entry_name(raw, index)}{suffix}"


def _str_list(value: Any, field: str, where: str, *, allow_int: bool) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise KnowledgeError(f"{where}: field {field!r} must be a list, got {type(value).__name__}")
    out: list[str] = []
    for i, item in enumerate(value):
        if allow_int and isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise KnowledgeError(f"{where}: {field}[{i}] must be a non-empty string, got {item!r}")
        out.append(item.strip())
    return tuple(out)


def _parse_entry(raw: Any, index: int, path: Path) -> Topic:
    where = _where(path, raw, index)
    if not isinstance(raw, dict):
        raise KnowledgeError(f"{where}: must be a mapping of fields, got {type(raw).__name__}")
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    if unknown:
        raise KnowledgeError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}")
    topic_id = raw.get("id")
    if topic_id is None:
        raise KnowledgeError(f"{where}: missing required field 'id'")
    if not isinstance(topic_id, str) or not ID_RE.match(topic_id):
        raise KnowledgeError(f"{where}: 'id' must be lowercase letters, digits, '_' (got {topic_id!r})")
    texts: dict[str, str] = {}
    for field in REQUIRED_TEXT:
        if field not in raw or raw[field] is None:
            raise KnowledgeError(f"{where}: missing required field {field!r}")
        value = raw[field]
        if not isinstance(value, str) or not value.strip():
            raise KnowledgeError(f"{where}: field {field!r} must be a non-empty string")
        texts[field] = value.strip()
    if not texts["source"].startswith("https://"):
        raise KnowledgeError(f"{where}: 'source' must be an https:// URL")
    step = raw.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 6):
        raise KnowledgeError(f"{where}: 'step' must be an integer 1-6 or null, got {step!r}")
    codes = _str_list(raw.get("error_codes"), "error_codes", where, allow_int=True)
    for spec in codes:
        try:
            expand_code_spec(spec)
        except CodeSpecError as exc:
            raise KnowledgeError(f"{where}: error_codes: {exc}") from None
    return Topic(
        id=topic_id,
        step=step,
        error_codes=codes,
        error_messages=_str_list(raw.get("error_messages"), "error_messages", where, allow_int=False),
        keywords=_str_list(raw.get("keywords"), "keywords", where, allow_int=True),
        phrasings=_str_list(raw.get("phrasings"), "phrasings", where, allow_int=False),
        file=path.name,
        **texts,
    )


def load_file(path: Path) -> list[Topic]:
    """Parse one YAML file (a list of topic mappings); raise KnowledgeError on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: cannot read file: {exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader subclasses SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise KnowledgeError(f"{path.name}: YAML syntax error{pos}: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path.name}: YAML error: {exc}") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise KnowledgeError(f"{path.name}: top level must be a list of topics, got {type(data).__name__}")
    return [_parse_entry(raw, i, path) for i, raw in enumerate(data)]


def load_topics(directory: Path) -> dict[str, Topic]:
    """Load every ``*.yaml`` in ``directory`` (sorted), rejecting duplicate ids across files."""
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeError(f"{directory}: knowledge directory does not exist")
    topics: dict[str, Topic] = {}
    for path in sorted(directory.glob("*.yaml")):
        for index, topic in enumerate(load_file(path)):
            if topic.id in topics:
                first = topics[topic.id].file
                raise KnowledgeError(
                    f"{path.name}: entry {topic.id!r} (#{index + 1}): duplicate id, already defined in {first}"
                )
            topics[topic.id] = topic
    if not topics:
        raise KnowledgeError(f"{directory}: no topics found in *.yaml files")
    return topics
