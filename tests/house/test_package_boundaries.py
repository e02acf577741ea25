"""The three top-level packages keep their direction: the runtime library (`pipeline/`) never imports the
emulator or the tooling at module level (its CLI imports them inside the `demo` / `emulator` commands),
and the emulator (`gemini_emulator/`) reads nothing of the pipeline but its catalog, so its answers
follow what a request carries, not what the pipeline meant by it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLING = ("gemini_emulator", "pipeline_tools")


def _imports(path: Path, *, module_level_only: bool) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file; with module_level_only, not the ones inside a
    function (which run only when it is called). `if TYPE_CHECKING:` blocks count: they are module level."""
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes: list[ast.AST] = []
    if module_level_only:
        pending: list[ast.AST] = list(tree.body)
        while pending:
            node = pending.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            nodes.append(node)
            pending.extend(ast.iter_child_nodes(node))
    else:
        nodes = list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_runtime_library_imports_no_tooling_at_module_level() -> None:
    files = sorted((ROOT / "pipeline").rglob("*.py"))
    assert len(files) > 50  # the walk found the library
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in files
        for line, module in _imports(path, module_level_only=True)
        if _top(module) in TOOLING
    ]
    assert wrong == []


def test_the_emulator_imports_only_the_catalog_of_the_pipeline() -> None:
    files = sorted((ROOT / "gemini_emulator").rglob("*.py"))
    assert len(files) > 10  # the walk found the emulator
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in files
        for line, module in _imports(path, module_level_only=False)
        if _top(module) in ("pipeline_tools", "tests")
        or (
            _top(module) == "pipeline"
            and module != "pipeline.catalog"
            and not module.startswith("pipeline.catalog.")
        )
    ]
    assert wrong == []


def _loaded_pipeline_modules(statement: str) -> set[str]:
    code = (
        f"import sys; {statement}; print(' '.join(m for m in sys.modules if m.split('.')[0] == 'pipeline'))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_emulator_loads_no_more_of_the_pipeline_than_its_catalog_does() -> None:
    catalog = _loaded_pipeline_modules("import pipeline.catalog")
    assert "pipeline.catalog" in catalog
    assert _loaded_pipeline_modules("import gemini_emulator, gemini_emulator.__main__") == catalog
