"""The README is the front door: short, its first lines the two commands CI runs, and every link into docs/ lands.

Everything else lives in docs/, one file per subject, each linked from the README with a line saying what is in
it; a link to a file or a heading that moved fails here rather than on a reader.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 250
INSTALL = ("python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e . && .venv/bin/python -m bot serve")
TEST = "python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e '.[test]' && .venv/bin/pytest"
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def links(page: Path) -> list[str]:
    """Relative link targets of a page (code blocks left out)."""
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return [target for target in _LINK.findall(text) if not re.match(r"^[a-z]+:", target)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (letters of any script kept), spaces -> -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(match) for match in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def test_the_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines: move detail into docs/"


def test_the_readme_starts_with_the_two_commands_and_ci_runs_the_second() -> None:
    first = README.read_text(encoding="utf-8").splitlines()[:6]
    assert first[2] == "```bash" and first[5] == "```", first
    assert first[3].split("   #")[0].rstrip() == INSTALL
    assert first[4].split("   #")[0].rstrip() == TEST
    assert TEST in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_the_readme_sections_come_in_order() -> None:
    headings = re.findall(r"^## (.+)$", _FENCE.sub("", README.read_text(encoding="utf-8")), re.MULTILINE)
    wanted = ["What it is, and for whom", "The demo", "Deploying for real", "Configuration", "Where a change goes"]
    assert [h for h in headings if h in wanted] == wanted, headings
    assert headings[-1] == "Where a change goes", headings


def test_the_readme_links_every_docs_page_with_a_line_saying_what_is_in_it() -> None:
    text = README.read_text(encoding="utf-8")
    for page in DOCS:
        line = re.search(rf"^- \[docs/{re.escape(page.name)}\]\(docs/{re.escape(page.name)}\) — (.+)$", text,
                         re.MULTILINE)
        assert line and len(line.group(1)) > 20, f"README.md: no line saying what docs/{page.name} holds"


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    found = links(page)
    if page == README:
        assert any(target.startswith("docs/") for target in found)
    for target in found:
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target} points at nothing"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page.name}: {target}: no such heading in {linked.name}"
