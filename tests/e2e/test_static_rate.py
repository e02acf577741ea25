"""Token economy end to end: a static source (slides) is prepared and billed at the static frame rate."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest

from pipeline.catalog import token_rules
from pipeline.config import Settings
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 8)


def _slides(path) -> None:  # noqa: ANN001
    """30 s of three still slides (a screen recording of a talk, say), no audio."""
    inputs = []
    for colour in ("white", "navy", "white"):
        inputs += ["-f", "lavfi", "-i", f"color=c={colour}:s=640x360:r=10:d=10"]
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            *inputs,
            "-filter_complex",
            "concat=n=3:v=1:a=0,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            str(path),
        ],
        check=True,
    )


def test_static_source_is_sent_and_billed_at_the_static_rate(services, buckets, tmp_path) -> None:  # noqa: ANN001
    source, dest = buckets
    slides = tmp_path / "slides.mp4"
    _slides(slides)
    store = S3Store()
    store.upload(slides, S3Location.parse(f"{source}/dt={DT.isoformat()}/slides.mp4"))
    settings = Settings(source=source, dest=dest, batch_poll_seconds=0.2, static_video_fps=0.5)
    summary = run_job(settings, DT, store=store)
    assert summary.items_ok == 1
    (request,) = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    rules = token_rules(settings.model)
    duration = request["chunk_end_s"] - request["chunk_start_s"]
    assert request["prompt_tokens_video"] == rules.video_tokens(duration, 0.5, settings.media_resolution)
    assert request["prompt_tokens_video"] < rules.video_tokens(duration, 1.0, settings.media_resolution)
    segments = read_table(store, S3Location.parse(dest), "segments").to_pylist()
    # the slide changes at 10 s and 20 s are still found, to within the static sampling interval
    starts = sorted(s["start_s"] for s in segments if s["label"].startswith("scene"))[1:]
    assert len(starts) == 2 and abs(starts[0] - 10) <= 2.0 and abs(starts[1] - 20) <= 2.0
