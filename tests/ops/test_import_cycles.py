"""No import cycles among the project's modules (bot/, handlers/).

A cycle makes import order matter and hides in function-level imports, so those count as edges too:
the graph has every ``import`` anywhere in a module (module level, in functions, in classes), except
under ``if TYPE_CHECKING:`` (never run). ``from a.b import c`` is an edge to ``a.b.c`` when that is a
module, else to ``a.b``. Importing a submodule runs its packages' ``__init__`` first, so ``a.b.c`` is
an edge to ``a`` and ``a.b`` too (package ``__init__`` modules are in the graph like any other), except
to the packages the importing module is itself inside: those began importing before it did, so a
package that re-exports its own submodules is not a cycle.

The imports under ``if TYPE_CHECKING:`` never run, but two modules that name each other's types are
still one thing in two files: a second test refuses those cycles too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(name: str, path: Path, modules: dict[str, Path], type_checking: bool = False) -> dict[str, int]:
    """Project modules ``name`` imports, each with the line of its first import (``type_checking``: with
    the imports under ``if TYPE_CHECKING:``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test) and not type_checking:
                for other in child.orelse:
                    visit_node(other)
            else:
                visit_node(child)

    def visit_node(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            targets.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.append((submodule if submodule in modules else base, node.lineno))
        else:
            visit(node)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    edges: dict[str, int] = {}
    for target, line in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            edges.setdefault(target, line)
    return with_packages(name, edges, modules)


def _packages_of(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def with_packages(name: str, edges: dict[str, int], modules: dict[str, Path] | set[str]) -> dict[str, int]:
    """``edges`` plus the packages whose ``__init__`` each import runs first, but not ``name``'s own packages."""
    own = {*_packages_of(name), name}
    found = dict(edges)
    for target, line in edges.items():
        for package in _packages_of(target):
            if package in modules and package not in own:
                found.setdefault(package, line)
    return found


def import_graph(type_checking: bool = False) -> dict[str, dict[str, int]]:
    modules = _modules()
    return {name: _imported(name, path, modules, type_checking) for name, path in modules.items()}


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_cycle_finder_sees_a_cycle_and_ignores_a_chain():
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {}}) == []


def test_the_graph_counts_function_level_imports_and_skips_type_checking_blocks():
    graph = import_graph()
    assert "bot.understand.live_model" in graph["bot.wiring.services"]  # imported inside build_services
    assert "bot.outbound.config" not in graph["bot.channels.app.outbound"]  # only under TYPE_CHECKING
    assert "bot.outbound.config" in import_graph(type_checking=True)["bot.channels.app.outbound"]


def test_importing_a_submodule_is_an_edge_to_its_packages_but_not_to_the_importers_own():
    modules = {"a", "a.b", "a.b.c", "a.d", "e"}
    assert with_packages("e", {"a.b.c": 3}, modules) == {"a.b.c": 3, "a": 3, "a.b": 3}
    assert with_packages("a.d", {"a.b.c": 3}, modules) == {"a.b.c": 3, "a.b": 3}  # a began before a.d
    assert with_packages("a.b", {"a.b.c": 3}, modules) == {"a.b.c": 3}  # a package importing its own submodule
    # A package __init__ importing a module that imports one of the package's submodules is a cycle:
    graph = {"a": {"e": 1}, "e": with_packages("e", {"a.b.c": 2}, modules), "a.b": {}, "a.b.c": {}}
    assert cycles(graph) == [["a", "e"]]


def test_the_graph_includes_package_inits():
    graph = import_graph()
    assert "bot.understand.understander" in graph["bot.understand"]  # its __init__ re-exports it
    assert "bot.faq" in graph["bot.wiring.services"]  # bot.faq.shared runs bot/faq/__init__.py first


def _report(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Each cycle as the imports inside it ("module:line -> module"): one of them has to go."""
    return [[f"{m}:{graph[m][n]} -> {n}" for m in component for n in sorted(graph[m]) if n in component]
            for component in cycles(graph)]


def test_no_import_cycles_among_project_modules():
    assert _report(import_graph()) == []


def test_no_cycles_even_through_type_checking_imports():
    """E.g. the app and webhook channels naming SenderConfig while bot/outbound/config.py read their limits."""
    assert _report(import_graph(type_checking=True)) == []
