"""The package layout of docs/ARCHITECTURE.md, read from the source: which package may import
which, and no import circle between modules. Imports inside functions count too (a deferred
import is still a dependency), and so do those under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from pathlib import Path

import csmoe

SRC = Path(csmoe.__file__).parent
# package -> packages it must never import (docs/ARCHITECTURE.md, "Packages")
FORBIDDEN = {
    # real data never depends on the generated mini world or on how files are fetched
    "csmoe.data": ("csmoe.world", "csmoe.downloads"),
    "csmoe.downloads": ("csmoe.world",),
}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def import_graph(root: Path = SRC) -> dict[str, set[str]]:
    """Every module of the package at ``root`` -> the csmoe modules (or packages) it
    imports."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, `level - 1` folders up
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}".rstrip(".")
                # `from pkg import module` imports that module; `from module import name` not
                targets |= {
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                }
        graph[name] = {t for t in targets if inside(t, "csmoe")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components with more than one module, or a
    module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_packages_import_only_downwards():
    wrong = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for package, forbidden in FORBIDDEN.items()
        if inside(module, package)
        for target in targets
        if any(inside(target, f) for f in forbidden)
    ]
    assert wrong == []


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_the_checks_see_what_they_must(tmp_path):
    """The graph reader on a made-up package: lazy, relative and ``from pkg import module``
    imports are edges, a circle through a function-level import is found."""
    pkg = tmp_path / "csmoe"
    (pkg / "data").mkdir(parents=True)
    (pkg / "world").mkdir()
    for init in ("__init__.py", "data/__init__.py", "world/__init__.py"):
        (pkg / init).write_text("")
    (pkg / "data" / "store.py").write_text("def f():\n    from csmoe.data import extract\n")
    (pkg / "data" / "extract.py").write_text("from .store import f\n")
    (pkg / "world" / "scenes.py").write_text("from ..data.store import f\n")
    graph = import_graph(pkg)
    assert graph["csmoe.data.store"] == {"csmoe.data.extract"}
    assert graph["csmoe.data.extract"] == {"csmoe.data.store"}
    assert graph["csmoe.world.scenes"] == {"csmoe.data.store"}
    assert cycles(graph) == [["csmoe.data.extract", "csmoe.data.store"]]
