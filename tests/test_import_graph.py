"""The packages' imports form no circle, counting imports inside functions too.

A circle that holds only because one side imports inside a function still ties the two
modules together: neither can be read, tested or moved alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "core",
    "catalog",
    "takedown",
    "scraper",
    "faces",
    "importer",
    "exporter",
    "model",
    "curation_ui",
)


def module_files() -> dict[str, Path]:
    """Every first-party module by dotted name (``pipeline`` and each package's files)."""
    found = {"pipeline": ROOT / "pipeline.py"}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The first-party modules ``name`` imports anywhere in its file (a package counts as its
    ``__init__``; ``from pkg import mod`` as ``pkg.mod``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_pkg else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for t in targets:
            # The longest first-party prefix: ``catalog.events.record`` -> ``catalog.events``.
            parts = t.split(".")
            for i in range(len(parts), 0, -1):
                cand = ".".join(parts[:i])
                if cand in modules:
                    if cand != name:
                        out.add(cand)
                    break
    return out


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    names = set(files)
    return {n: imports_of(n, p, names) for n, p in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, as the list of its modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_no_import_circles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_core_imports_no_stage_and_no_catalog():
    """core is shared by every stage: it may not depend on one, nor on the database."""
    bad = {
        (n, m)
        for n, deps in import_graph().items()
        if n.split(".")[0] == "core"
        for m in deps
        if m.split(".")[0] != "core"
    }
    assert not bad, sorted(bad)


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The test above could pass by not seeing a circle: show that it does see one."""
    a = tmp_path / "a.py"
    a.write_text("import b\n")
    b = tmp_path / "b.py"
    b.write_text("def f():\n    from a import x\n")
    graph = {n: imports_of(n, p, {"a", "b"}) for n, p in (("a", a), ("b", b))}
    assert find_cycle(graph) == ["a", "b", "a"]
