"""The CLI starts without the heavy libraries: each command imports what it needs when it runs."""

from __future__ import annotations

import subprocess
import sys

from pipeline.cli.live_check import CHECK_NAMES
from pipeline.gemini.live_check import CHECKS


def test_importing_the_cli_loads_no_sdk_dataframes_or_validation_library() -> None:
    probe = "import sys, pipeline.cli; print(sorted(m for m in ('google.genai', 'pandas', 'great_expectations', 'pyarrow') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_help_text_names_the_checks_the_live_check_runs() -> None:
    assert CHECK_NAMES == CHECKS
