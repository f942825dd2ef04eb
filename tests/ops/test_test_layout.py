"""The tests' own layout: shared helpers live in tests/support/, no test module imports another, and the example
phrases several folders send are defined once, in tests/support/phrases.py.

A test module that imports another runs that module's fixtures and module-level code wherever it is imported,
and ties a change in one folder to failures in another; a phrase copied into many folders breaks tests far
from the change that made the bot read it differently. Heuristic for the phrases: a string literal with a
Chinese character and at least 4 characters, in test files of 3 or more folders, must come from phrases.py;
and a phrase phrases.py defines is never written out as a literal anywhere else under tests/.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from tests.support import phrases

TESTS = Path(__file__).resolve().parents[1]
SUPPORT = TESTS / "support"
PHRASES = SUPPORT / "phrases.py"
HAN = re.compile(r"[\u3400-\u9fff]")
MIN_CHARS = 4
MAX_FOLDERS = 2


def _python_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if ".venv" not in path.parts)


def _is_test_module(path: Path) -> bool:
    return path.name.startswith("test_") and path.suffix == ".py"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports (module level or inside functions), as dotted names, with the line."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            found.append((base, node.lineno))
            found.extend((f"{base}.{alias.name}", node.lineno) for alias in node.names)
    return found


def imports_of_test_modules(root: Path) -> list[str]:
    """``file:line imports module`` for every import of a test module (``test_*``) under ``root``."""
    top = root.name
    return [f"{path.relative_to(root.parent)}:{line} imports {module}"
            for path in _python_files(root) for module, line in _imports(path, root)
            if module.split(".")[0] == top and module.rsplit(".", 1)[-1].startswith("test_")]


def helpers_outside_support(root: Path) -> list[str]:
    """Python files under ``root`` that are neither tests, conftest, package markers nor in ``support/``."""
    return [str(path.relative_to(root.parent)) for path in _python_files(root)
            if "support" not in path.relative_to(root).parts[:1]
            and not _is_test_module(path) and path.name not in ("conftest.py", "__init__.py")]


def _literals(path: Path) -> list[tuple[str, int]]:
    """Plain string literals (docstrings and the text pieces of f-strings are not phrases)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in ast.walk(node))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))
    return [(node.value, node.lineno) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip]


def _folder(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else "."


def shared_literals(root: Path, min_chars: int = MIN_CHARS) -> dict[str, set[str]]:
    """Chinese literals of ``min_chars``+ characters, each with the folders whose test files hold it."""
    folders: dict[str, set[str]] = defaultdict(set)
    for path in _python_files(root):
        if _is_test_module(path) or path.name == "conftest.py":
            for text, _line in _literals(path):
                if len(text) >= min_chars and HAN.search(text):
                    folders[text].add(_folder(path, root))
    return folders


def phrases_written_out(root: Path, defined: dict[str, str], phrases_file: Path) -> list[str]:
    """``file:line: NAME`` wherever a phrase ``defined`` names is a literal again, outside ``phrases_file``."""
    return [f"{path.relative_to(root.parent)}:{line}: {defined[text]}"
            for path in _python_files(root) if path != phrases_file
            for text, line in _literals(path) if text in defined]


def _defined_phrases() -> dict[str, str]:
    return {value: name for name, value in vars(phrases).items() if name.isupper() and isinstance(value, str)}


# -- the tree as it is ------------------------------------------------------------------------------------------
def test_no_test_module_imports_another():
    assert imports_of_test_modules(TESTS) == [], "move what is shared to tests/support/"


def test_shared_helpers_live_in_tests_support():
    assert helpers_outside_support(TESTS) == [], "helpers shared by tests go to tests/support/"


def test_a_phrase_used_in_three_test_folders_comes_from_phrases_py():
    spread = {text: sorted(where) for text, where in shared_literals(TESTS).items() if len(where) > MAX_FOLDERS}
    assert spread == {}, "define these once in tests/support/phrases.py, named for what they are"


def test_phrases_py_defines_each_phrase_once_and_nobody_writes_it_out_again():
    names = [name for name, value in vars(phrases).items() if name.isupper() and isinstance(value, str)]
    defined = _defined_phrases()
    assert len(defined) == len(names), "two names for one phrase"
    assert phrases_written_out(TESTS, defined, PHRASES) == [], "import the name from tests.support.phrases"


# -- the checks can fail ----------------------------------------------------------------------------------------
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "tests"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_checks_find_an_imported_test_module_a_helper_outside_support_and_spread_phrases(tmp_path):
    phrase = phrases.SUBMITTED_CERTIFICATION
    root = _tree(tmp_path, {
        "__init__.py": "",
        "a/test_one.py": f'from tests.b.test_two import helper\n\ndef test_x(say):\n    say("{phrase}")\n',
        "b/test_two.py": f'def helper():\n    return "{phrase}"\n',
        "b/test_three.py": "def test_y():\n    from . import test_two\n",
        "c/test_four.py": f'import tests.a.test_one\n\nSCRIPT = ["{phrase}", f"{phrase}!"]\n',
        "c/helpers.py": "X = 1\n",
        "support/__init__.py": '"""ok"""\n',
        "support/phrases.py": f'P = "{phrase}"\n',
    })
    assert imports_of_test_modules(root) == [
        "tests/a/test_one.py:1 imports tests.b.test_two",
        "tests/b/test_three.py:2 imports tests.b.test_two",
        "tests/c/test_four.py:1 imports tests.a.test_one",
    ]
    assert helpers_outside_support(root) == ["tests/c/helpers.py"]
    assert shared_literals(root)[phrase] == {"a", "b", "c"}
    assert phrases_written_out(root, {phrase: "P"}, root / "support" / "phrases.py") == [
        "tests/a/test_one.py:4: P", "tests/b/test_two.py:2: P", "tests/c/test_four.py:3: P"]
