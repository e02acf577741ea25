"""Keyframe spacing and motion measured on generated clips; fast-mode preparation keeps chunk timing."""

from __future__ import annotations

import dataclasses as _dataclasses
import subprocess

import ffmpeg
import pytest

from pipeline.media import probe
from pipeline.plan import plan_media
from pipeline.plan.chunk_plan import STATIC_MAX_MOTION
from pipeline.prepare import prepare_media
from pipeline.tasks import DESCRIBE as _DESCRIBE
from tests.media_helpers import prepare_settings

P_TASK = _dataclasses.replace(_DESCRIBE, prompt="p")

TOLERANCE_S = 0.1


def _make(path, lavfi, *, seconds, gop):
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", lavfi, "-f", "lavfi", "-i",
         f"sine=frequency=440:sample_rate=16000:duration={seconds}", "-t", str(seconds),
         "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop), "-keyint_min", str(gop),
         "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def moving(tmp_path_factory):
    return _make(
        tmp_path_factory.mktemp("p") / "moving.mp4", "testsrc2=size=320x180:rate=30", seconds=12, gop=15
    )


@pytest.fixture(scope="module")
def slides(tmp_path_factory):
    # three "slides" of 5 s each, with a keyframe every second
    lavfi = "color=c=white:s=320x180:r=30:d=5[a];color=c=navy:s=320x180:r=30:d=5[b];"
    lavfi += (
        "color=c=orange:s=320x180:r=30:d=5[c];[a][b][c]concat=n=3:v=1:a=0,drawbox=x=20:y=20:w=80:h=20:c=black"
    )
    return _make(tmp_path_factory.mktemp("p") / "slides.mp4", lavfi, seconds=15, gop=30)


def test_profile_tells_moving_from_static(moving, slides):
    moving_probe, slides_probe = probe(moving), probe(slides)
    assert moving_probe.keyframe_interval_s == pytest.approx(0.5, abs=0.01)
    assert slides_probe.keyframe_interval_s == pytest.approx(1.0, abs=0.01)
    assert moving_probe.motion > 0.8
    assert slides_probe.motion <= STATIC_MAX_MOTION
    assert probe(moving, profile=False).motion is None


def test_static_clip_is_planned_and_prepared_at_static_fps(slides, tmp_path):
    result = probe(slides)
    plan = plan_media(
        str(slides), result, settings=prepare_settings(static_fps=0.25), model="gemini-3.8-flash",
        max_chunk_seconds=60, overlap_s=1, task=P_TASK, max_output_tokens=100,
    )  # fmt: skip
    assert plan.settings.video_fps == 0.25
    (chunk,) = prepare_media(slides, plan, result, tmp_path)
    frames = ffmpeg.probe(chunk.path, count_frames=None, select_streams="v")["streams"][0]["nb_read_frames"]
    assert int(frames) <= 4 + 2  # one per 4 s cell, plus up to two frames in the last 0.2 s


def test_fast_mode_keeps_chunk_timing(moving, tmp_path):
    result = probe(moving)
    kwargs = dict(
        model="gemini-3.8-flash", max_chunk_seconds=5, overlap_s=1, task=P_TASK, max_output_tokens=100
    )
    exact = plan_media(str(moving), result, settings=prepare_settings(video_fps=1.0), **kwargs)
    fast = plan_media(str(moving), result, settings=prepare_settings(video_fps=1.0, fast=True), **kwargs)
    assert fast.settings.fast and not exact.settings.fast
    assert fast.chunks == exact.chunks
    fast_chunks = prepare_media(moving, fast, result, tmp_path / "fast")
    exact_chunks = prepare_media(moving, exact, result, tmp_path / "exact")
    for spec, f, e in zip(fast.chunks, fast_chunks, exact_chunks, strict=True):
        assert f.duration_s == pytest.approx(spec.duration_s, abs=TOLERANCE_S)
        assert f.start_s == spec.start_s
        assert (f.width, f.height, f.has_audio) == (e.width, e.height, e.has_audio)
