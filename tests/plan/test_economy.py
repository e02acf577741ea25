"""Token economy in planning: output-token cap, task-driven settings, static sources, fast-mode gate."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.catalog import model_limits, token_rules
from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.models import MediaType, ProbeResult
from pipeline.plan import plan_media
from pipeline.plan.chunk_plan import STATIC_MAX_MOTION, source_settings
from pipeline.tasks import DESCRIBE
from tests.media_helpers import prepare_settings

MODEL = "gemini-3.8-flash"


def _video(*, motion=None, keyframes=None, duration=300.0):
    return ProbeResult(
        media_type=MediaType.VIDEO,
        format_name="mp4",
        duration_s=duration,
        width=1920,
        height=1080,
        has_video=True,
        has_audio=True,
        video_stream=0,
        audio_stream=1,
        motion=motion,
        keyframe_interval_s=keyframes,
    )


def _plan(probe, settings, max_output_tokens=None):
    return plan_media(
        "s3://b/k",
        probe,
        settings=settings,
        model=MODEL,
        max_chunk_seconds=120,
        overlap_s=4,
        task=dataclasses.replace(DESCRIBE, prompt="p"),
        max_output_tokens=max_output_tokens,
    )


def test_output_tokens_over_the_model_limit_are_refused():
    limit = model_limits(MODEL).output_token_limit
    _plan(_video(), prepare_settings(), max_output_tokens=limit)
    with pytest.raises(ConfigError, match=f"output token limit of {limit}"):
        _plan(_video(), prepare_settings(), max_output_tokens=limit + 1)


def test_task_without_audio_drops_it_and_its_tokens():
    visual = dataclasses.replace(DESCRIBE, uses_audio=False)
    assert Settings().prepare_settings().keep_audio
    settings = Settings().prepare_settings(visual)
    assert not settings.keep_audio
    assert _plan(_video(), settings).estimate.audio == 0


def test_task_prepare_defaults_fill_only_what_was_not_set():
    task = dataclasses.replace(DESCRIBE, prepare_defaults={"video_fps": 0.5, "fast": True})
    assert Settings().prepare_settings(task).video_fps == 0.5
    assert Settings().prepare_settings(task).fast
    explicit = Settings(video_fps=2.0, fast_prepare=False).prepare_settings(task)
    assert explicit.video_fps == 2.0 and not explicit.fast


def test_env_settings_win_over_task_defaults(monkeypatch):
    monkeypatch.setenv("MEDIA_PIPELINE_VIDEO_FPS", "3")
    task = dataclasses.replace(DESCRIBE, prepare_defaults={"video_fps": 0.5})
    assert Settings().prepare_settings(task).video_fps == 3.0


def test_unknown_prepare_default_is_a_config_error():
    task = dataclasses.replace(DESCRIBE, prepare_defaults={"fps": 0.5})
    with pytest.raises(ConfigError, match="fps"):
        Settings().prepare_settings(task)


def test_static_source_gets_static_fps_and_the_estimate_follows():
    settings = prepare_settings(video_fps=1.0, static_fps=0.25)
    moving, still = _video(motion=0.9), _video(motion=STATIC_MAX_MOTION / 2)
    assert _plan(moving, settings).settings.video_fps == 1.0
    plan = _plan(still, settings)
    assert plan.settings.video_fps == 0.25
    rules = token_rules(MODEL)
    assert plan.estimate.video == sum(
        rules.video_tokens(c.duration_s, 0.25, settings.media_resolution) for c in plan.chunks
    )
    # off when static_fps is unset, and unknown motion is not static
    assert _plan(still, prepare_settings(static_fps=None)).settings.video_fps == 1.0
    assert _plan(_video(motion=None), settings).settings.video_fps == 1.0


@pytest.mark.parametrize(
    ("keyframes", "fps", "fast"),
    [(2.0, 0.5, True), (2.0, 1.0, False), (0.5, 1.0, True), (None, 0.1, False), (8.3, 0.5, False)],
)
def test_fast_mode_only_where_keyframes_are_dense_enough(keyframes, fps, fast):
    settings = prepare_settings(video_fps=fps, fast=True)
    assert source_settings(_video(keyframes=keyframes), settings, MODEL).fast is fast


def test_static_fps_can_enable_fast_mode():
    # keyframes every 4 s: too sparse for 1 fps, enough for the 0.25 fps a static source gets
    settings = prepare_settings(video_fps=1.0, static_fps=0.25, fast=True)
    chosen = source_settings(_video(keyframes=4.0, motion=0.0), settings, MODEL)
    assert chosen.video_fps == 0.25 and chosen.fast
