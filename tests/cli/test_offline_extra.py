"""`demo` and `emulator` run on the `offline` extra: without it each says so in one line naming the extra
(exit 1, no traceback); a missing module of our own is not explained away as a missing extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Runs the CLI in a fresh interpreter in which importing the named modules fails as if they were not
# installed (a meta-path finder ahead of the real ones).
BLOCKED_CLI = """
import sys
from importlib.abc import MetaPathFinder

BLOCKED = set(sys.argv[1].split(","))

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from pipeline.cli import app
app(sys.argv[2:], prog_name="media-pipeline")
"""


def _cli(blocked: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED_CLI, blocked, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("command", "blocked", "missing"),
    [("demo", "moto", "moto"), ("demo", "duckdb", "duckdb"), ("emulator", "numpy", "numpy")],
)
def test_a_missing_third_party_module_names_the_extra_in_one_line(command, blocked, missing) -> None:
    out = _cli(blocked, command, "--port", "0") if command == "emulator" else _cli(blocked, command)
    assert out.returncode == 1, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout
    assert f"media-pipeline {command}" in lines[0] and "'offline' extra" in lines[0]
    assert f"no module named '{missing}'" in lines[0]
    assert "pip install 'gemini-media-pipeline[offline]'" in lines[0] and "Traceback" not in out.stderr


def test_a_missing_module_of_our_own_is_not_blamed_on_the_extra() -> None:
    out = _cli("gemini_emulator", "emulator", "--port", "0")
    assert out.returncode != 0
    assert "offline' extra" not in out.stdout
    assert "No module named 'gemini_emulator'" in out.stderr
