"""Helpers shared by the media tests (a uniquely named module: tests/ has no __init__.py files)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pipeline.config import Settings
from pipeline.media import probe, verify_decodable
from pipeline.models import MediaPlan, PreparedChunk, PrepareSettings, ProbeResult
from pipeline.plan import plan_media
from pipeline.prepare import prepare_media
from pipeline.tasks import DESCRIBE

FIXTURES = Path("/work/shared/fixtures/media")
FIXTURE_FILES = sorted(p for p in FIXTURES.glob("*") if p.is_file() and p.name != "SOURCES.md")
MODEL = "gemini-3.8-flash"
PROMPT = "Describe the attached media."
TASK = dataclasses.replace(DESCRIBE, prompt=PROMPT)
# Short chunks so that even the 2-10 s fixtures are cut into several overlapping pieces.
MAX_CHUNK_S = 4.0
OVERLAP_S = 1.0


def prepare_settings(**changes: object) -> PrepareSettings:
    """PrepareSettings as a run with the default Settings gets them (PrepareSettings has no defaults of
    its own), with `changes`."""
    return PrepareSettings.model_validate({**Settings().prepare_settings().model_dump(), **changes})


def run_pipeline(
    path: Path,
    out_dir: Path,
    settings: PrepareSettings | None = None,
    max_chunk_s: float = MAX_CHUNK_S,
    max_output_tokens: int | None = None,
) -> tuple[ProbeResult, MediaPlan, list[PreparedChunk]]:
    result = verify_decodable(path, probe(path))  # what really decodes is what is planned
    plan = plan_media(
        str(path),
        result,
        settings=settings or prepare_settings(),
        model=MODEL,
        max_chunk_seconds=max_chunk_s,
        overlap_s=OVERLAP_S,
        task=TASK,
        max_output_tokens=max_output_tokens,
    )
    return result, plan, prepare_media(path, plan, result, out_dir)
