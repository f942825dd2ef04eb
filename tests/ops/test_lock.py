"""The lock (constraints.txt) pins what pyproject.toml asks for, inside its ranges, for the Pythons we support.

A dependency added to pyproject.toml without re-running ``scripts/lock.sh`` would install unpinned (the
drift the lock exists to stop); a range narrowed below the locked version would make the README's install
fail. Both are caught here, before CI's install does.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYTHONS = ("3.11", "3.12", "3.13")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _locked(python: str) -> dict[str, Version]:
    """name -> pinned version of the lines whose marker holds on ``python`` (Linux, CPython)."""
    env = {"python_version": python, "python_full_version": f"{python}.9", "sys_platform": "linux",
           "platform_system": "Linux", "platform_python_implementation": "CPython",
           "implementation_name": "cpython", "platform_machine": "x86_64", "os_name": "posix"}
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line or line.startswith(("#", " ")):
            continue
        spec, _, marker = line.partition(";")
        name, version = spec.strip().split("==")
        if marker.strip() and not Marker(marker.strip()).evaluate(env):
            continue
        pins[canonicalize_name(name)] = Version(version)
    return pins


def _requirements() -> list[Requirement]:
    project = _project()
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]


@pytest.mark.parametrize("python", PYTHONS)
def test_every_requirement_is_pinned_inside_its_range(python):
    pins = _locked(python)
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in constraints.txt: run scripts/lock.sh"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]} outside {req.specifier}: run scripts/lock.sh")


def test_the_runtime_stack_has_upper_bounds():
    """A new major of a runtime dependency must be a decision, not something a fresh install picks up."""
    unbounded = [str(r) for r in map(Requirement, _project()["dependencies"])
                 if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)
                 and canonicalize_name(r.name) != "packaging"]  # only its version module is used: stable for years
    assert unbounded == []


def test_what_the_code_imports_at_run_time_is_declared():
    """Every third-party module ``bot`` and ``handlers`` import comes from a dependency the wheel declares."""
    import sys

    declared = {canonicalize_name(Requirement(r).name) for r in _project()["dependencies"]}
    # import name -> distribution, where they differ
    dist_of = {"yaml": "pyyaml", "sklearn": "scikit-learn", "flask": "flask", "jinja2": "jinja2",
               "apscheduler": "apscheduler", "prometheus_client": "prometheus-client", "rank_bm25": "rank-bm25",
               "werkzeug": "werkzeug", "PIL": "pillow", "rapidocr_onnxruntime": "rapidocr-onnxruntime"}
    imported: set[str] = set()
    for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("handlers").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m not in ("bot", "handlers")}
    missing = sorted(m for m in third_party if canonicalize_name(dist_of.get(m, m)) not in declared)
    assert missing == [], f"imported but not declared in pyproject.toml dependencies: {missing}"
    assert re.search(r'"packaging[><=]', (ROOT / "pyproject.toml").read_text())  # gunicorn's gevent worker needs it
