"""docs/configuration.md's tables and ``bot.config.Settings`` list the same variables, with the same defaults.

One place for each change: a variable added to Settings and not to the tables (or the other way round),
or a default changed on one side only, fails here; so does a table of variables anywhere else in the README
or docs/, where this test would not see it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import env_fields, variables

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
_TICKED = re.compile(r"`([^`]+)`")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table_rows(path: Path = CONFIGURATION) -> list[tuple[list[str], list[str]]]:
    """(variable names, backticked defaults) of every row of every table headed ``variable`` in ``path``."""
    rows, header = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = cells
            continue
        if set(line) <= set("|-: ") or header[0] != "variable":
            continue
        names = _TICKED.findall(cells[0])
        defaults = _TICKED.findall(cells[header.index("default")]) if "default" in header else []
        rows.append((names, defaults))
    return rows


def test_the_readme_lists_every_variable_the_code_reads_and_no_other():
    documented = [name for names, _ in table_rows() for name in names]
    assert len(documented) == len(set(documented)), "a variable is listed twice"
    fields = set(variables())
    assert set(documented) - fields == set(), "in docs/configuration.md but read by no code"
    assert fields - set(documented) == set(), "read by the code but missing from docs/configuration.md's tables"


def test_no_other_page_has_a_table_of_variables():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    elsewhere = {page.name: rows for page in pages if page != CONFIGURATION and (rows := table_rows(page))}
    assert elsewhere == {}, "settings tables belong in docs/configuration.md, where they are checked"


def _paired_defaults() -> list[tuple[str, str]]:
    """(variable, documented default) wherever the row gives one backticked default per variable."""
    return [pair for names, defaults in table_rows() if len(names) == len(defaults)
            for pair in zip(names, defaults, strict=True)]


@pytest.mark.parametrize("name, documented", _paired_defaults())
def test_the_readme_defaults_are_the_code_defaults(name, documented):
    field, var = env_fields()[variables()[name]]
    if var.parse is None or field.default is None:
        pytest.skip("derived at start or at run time: the table says in words")  # e.g. BOT_DATA_DIR, SEND_CLAIM_TTL
    assert var.parse(name, documented) == field.default, f"{name}: docs/configuration.md says {documented!r}"


def test_enough_defaults_are_checked():
    checked = [name for name, _ in _paired_defaults()
               if env_fields()[variables()[name]][1].parse is not None
               and env_fields()[variables()[name]][0].default is not None]
    assert len(checked) >= 50, checked
