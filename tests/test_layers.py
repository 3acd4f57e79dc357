"""The import contract ARCHITECTURE.md states: core imports neither the GUI, the platform glue,
the MCP server nor Qt; the platform glue does not import the GUI; no module imports itself back
in a cycle (imports inside functions count: they are how cycles hide)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "notesearch"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _imports(path: Path) -> set[str]:
    """Every module name `path` imports anywhere in it (top level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(path) if m in modules and m != name}
            for name, path in modules.items()}


def test_the_core_imports_neither_the_gui_nor_the_platform_glue_nor_qt():
    offending = {name: sorted(m for m in _imports(path)
                              if m.startswith(("notesearch.gui", "notesearch.platform",
                                               "notesearch.mcp_server", "PySide6")))
                 for name, path in _modules().items() if name.startswith("notesearch.core")}
    assert {name: found for name, found in offending.items() if found} == {}


def test_the_platform_glue_does_not_import_the_gui():
    offending = {name: sorted(m for m in _imports(path) if m.startswith("notesearch.gui"))
                 for name, path in _modules().items() if name.startswith("notesearch.platform")}
    assert {name: found for name, found in offending.items() if found} == {}


def test_no_module_imports_itself_back_in_a_cycle():
    graph = _graph()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == []
