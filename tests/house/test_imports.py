"""Every `from pipeline... import name` in the code resolves, including the imports that sit inside DAG tasks
and CLI commands: those run only inside an Airflow worker or one command, so a stale one breaks a night
(Airflow retries the ImportError as if it were transient) while every unit test stays green."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWN_PACKAGES = {"pipeline", "gemini_emulator", "pipeline_tools"}


def _from_imports() -> list[tuple[Path, int, str, str]]:
    found = []
    for folder in ("pipeline", "dags", "gemini_emulator", "pipeline_tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    if node.module.split(".")[0] in OWN_PACKAGES:
                        found += [(path, node.lineno, node.module, alias.name) for alias in node.names]
    return found


def test_every_import_of_our_own_modules_resolves() -> None:
    imports = _from_imports()
    assert len(imports) > 200  # the walk found the code
    broken = []
    for path, line, module, name in imports:
        where = f"{path.relative_to(ROOT)}:{line}"
        try:
            target = importlib.import_module(module)
        except ImportError as exc:
            broken.append(f"{where}: {module}: {exc}")
            continue
        if name != "*" and not hasattr(target, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                broken.append(f"{where}: {module} has no {name}")
    assert broken == []
