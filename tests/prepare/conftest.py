"""Shared fixtures for the prepare tests: the 24 real-world fixture files and their prepared outputs."""

from __future__ import annotations

import pytest

from pipeline.errors import MediaError
from tests.media_helpers import FIXTURE_FILES, run_pipeline


@pytest.fixture(scope="session")
def fixture_outcomes(tmp_path_factory) -> dict[str, object]:
    """name -> (probe, plan, chunks) or the MediaError raised; computed once per session."""
    root = tmp_path_factory.mktemp("prepared")
    outcomes: dict[str, object] = {}
    for path in FIXTURE_FILES:
        try:
            outcomes[path.name] = run_pipeline(path, root / path.stem)
        except MediaError as exc:
            outcomes[path.name] = exc
    return outcomes
