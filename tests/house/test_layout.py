"""The house as drawn from its imports (every import, also those inside functions): stage packages use
each other only through their public surface (`from pipeline.<stage> import ...`), and no chain of
imports between modules runs in a circle."""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("discover", "plan", "prepare", "infer", "stitch", "validate", "commit", "account")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@functools.cache  # parsing and resolving every module once serves both tests
def _imports(*, named: bool = True) -> dict[str, set[str]]:
    """module -> the pipeline modules it imports. With `named`, `from a.b import c` counts a.b.c when c is
    a module (the cycle graph); without, only the module the statement names (whose surface it uses)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        name = _module_name(path)
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("pipeline.")}
            elif (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("pipeline")
            ):
                module = str(node.module)
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.add(sub if named and _is_module(sub) else module)
        graph[name] = targets
    return graph


def test_stages_use_each_other_only_through_their_public_surface() -> None:
    graph = _imports(named=False)
    reaching_in = []
    for module, targets in graph.items():
        home = module.split(".")[1] if module.count(".") else ""
        for target in targets:
            parts = target.split(".")
            if len(parts) > 2 and parts[1] in STAGES and parts[1] != home:
                reaching_in.append(f"{module} -> {target}")
    assert len(graph) > 80  # the walk found the library
    assert reaching_in == []


def test_no_import_cycle_between_modules() -> None:
    graph = _imports()

    def is_ancestor(package: str, module: str) -> bool:
        return module.startswith(package + ".")

    # A package's __init__ re-exporting its own modules (and those modules importing siblings through
    # the package) is how a public surface is made, not a cycle.
    edges = {m: {t for t in ts if t in graph and not is_ancestor(t, m) and t != m} for m, ts in graph.items()}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []
