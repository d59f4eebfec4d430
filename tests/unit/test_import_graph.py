"""The package's import graph: no cycles, and no import hidden inside a function to dodge one.

Walks every module of cio_browser with ``ast`` (nothing is imported), so the check holds for code paths tests
never run. A cycle is the sign of one rule living in two places (settings <-> mapping used to be one).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "cio_browser"

#: Imports inside functions that are allowed, with the reason. Anything else is a late import dodging a cycle.
LATE_IMPORTS_ALLOWED = {
    ("cio_browser", "cio_browser.browser"): "browser-only code stays out of `import cio_browser` under CPython",
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level:
        base = current.split(".") if is_package else current.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        root = ".".join(base + ([node.module] if node.module else []))
    else:
        root = node.module or ""
    if not root.startswith("cio_browser"):
        return []
    found = [f"{root}.{a.name}" for a in node.names if f"{root}.{a.name}" in MODULES]
    if len(found) < len(node.names):
        found.append(root)  # names imported from the module itself
    return found


def edges() -> dict[str, set[tuple[str, bool]]]:
    """module -> {(imported cio_browser module, imported at module level?)}."""
    out: dict[str, set[tuple[str, bool]]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        top = {id(n) for n in tree.body}
        found: set[tuple[str, bool]] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(name, is_package, node)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("cio_browser")]
            else:
                continue
            found |= {(t, id(node) in top) for t in targets if t != name}
        out[name] = found
    return out


def test_the_import_graph_has_no_cycle():
    graph = {m: {t for t, _ in targets} for m, targets in edges().items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_late_imports_of_our_own_modules():
    late = sorted((m, t) for m, targets in edges().items() for t, top in targets if not top)
    assert [pair for pair in late if pair not in LATE_IMPORTS_ALLOWED] == []


def test_the_graph_walker_sees_imports():
    graph = edges()
    assert ("cio_browser.settings", True) in graph["cio_browser.mapping"]
    assert ("cio_browser.errors", True) in graph["cio_browser.settings"]
    assert ("cio_browser.mapping.directives", True) in graph["cio_browser.mapping.actions"]


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m != "cio_browser.browser"))
def test_each_module_imports_on_its_own(name):
    """A fresh interpreter per module: an import that only works after another module was loaded fails here."""
    code = f"import importlib; importlib.import_module({name!r})"
    proc = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]



def test_no_cache_is_keyed_by_object_identity():
    """``id()`` keys are reused once an object dies; caches keyed by them return another object's answer."""
    calls = [f"{name}:{node.lineno}" for name, path in MODULES.items()
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "id"]
    assert calls == []
