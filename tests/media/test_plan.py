from __future__ import annotations

import pytest

from pipeline.catalog import model_limits, token_rules
from pipeline.errors import ConfigError
from pipeline.media import plan_media, split_chunks
from pipeline.media.plan import EXPECTED_OUTPUT_TOKENS_PER_CHUNK
from pipeline.models import MediaType, PrepareSettings, ProbeResult

MODEL = "gemini-2.5-flash"
PROMPT = "x" * 400  # 100 text tokens


def _video(duration, *, audio=True, w=1920, h=1080):
    return ProbeResult(
        media_type=MediaType.VIDEO,
        format_name="mp4",
        duration_s=duration,
        width=w,
        height=h,
        has_video=True,
        has_audio=audio,
        video_stream=0,
        audio_stream=1 if audio else None,
    )


def _plan(p, *, max_chunk=60.0, overlap=2.0, settings=None, model=MODEL):
    return plan_media(
        "s3://b/k",
        p,
        settings=settings or PrepareSettings(),
        model=model,
        max_chunk_seconds=max_chunk,
        overlap_s=overlap,
        prompt_text=PROMPT,
        max_output_tokens=8192,
    )


def _check_cover(chunks, duration, max_len, overlap):
    assert chunks[0].start_s == 0
    assert chunks[-1].end_s == pytest.approx(duration, abs=1e-3)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start_s == pytest.approx(a.end_s - overlap, abs=2e-3)  # overlap, no gap
    for c in chunks:
        assert c.duration_s <= max_len + 1e-3
    assert [c.index for c in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize("duration", [0.07, 1.0, 59.9, 60.0, 60.5, 61.9, 62.0, 118.0, 119.3, 200.0, 3601.7])
def test_split_covers_with_overlap(duration):
    chunks = split_chunks(duration, 60.0, 2.0)
    _check_cover(chunks, duration, 60.0, 2.0)
    if len(chunks) > 1:
        # never a tiny tail: every chunk is at least half the maximum
        assert min(c.duration_s for c in chunks) >= 30.0 - 1e-3


def test_split_fewest_chunks():
    assert len(split_chunks(60.0, 60.0, 2.0)) == 1
    assert len(split_chunks(118.0, 60.0, 2.0)) == 2
    assert len(split_chunks(118.5, 60.0, 2.0)) == 3


def test_overlap_must_be_smaller_than_chunk():
    with pytest.raises(ConfigError):
        split_chunks(100.0, 10.0, 6.0)


def test_video_estimate_from_catalog():
    p = _video(200.0)
    plan = _plan(p)
    rules = token_rules(MODEL)
    s = plan.settings
    assert plan.estimate.video == sum(
        rules.video_tokens(c.duration_s, s.video_fps, s.media_resolution) for c in plan.chunks
    )
    assert plan.estimate.audio == sum(rules.audio_tokens(c.duration_s) for c in plan.chunks)
    assert plan.estimate.text == 100 * len(plan.chunks)
    assert plan.estimate.output == EXPECTED_OUTPUT_TOKENS_PER_CHUNK * len(plan.chunks)
    assert plan.estimate.image == 0 and plan.estimated_cost_usd == 0


def test_audio_dropped_when_not_kept():
    plan = _plan(_video(100.0), settings=PrepareSettings(keep_audio=False))
    assert plan.estimate.audio == 0
    plan = _plan(_video(100.0, audio=False))
    assert plan.estimate.audio == 0


def test_chunks_shrink_to_fit_the_context():
    # 24 fps at default resolution: 258*24 + 32 = 6224 tokens/s -> ~168 s per request on a 1M context
    settings = PrepareSettings(video_fps=24, media_resolution="MEDIA_RESOLUTION_UNSPECIFIED", max_height=144)
    plan = _plan(_video(3600.0), max_chunk=3600.0, overlap=5.0, settings=settings)
    limit = model_limits(MODEL).input_token_limit
    rules = token_rules(MODEL)
    for c in plan.chunks:
        per = (
            rules.video_tokens(c.duration_s, 24, settings.media_resolution)
            + rules.audio_tokens(c.duration_s)
            + 100
        )
        assert per <= limit
    assert 150 < max(c.duration_s for c in plan.chunks) < 170
    _check_cover(plan.chunks, 3600.0, 170, 5.0)


def test_chunks_shrink_to_fit_inline_bytes():
    # 4K at 24 fps is many bytes per second even after downscale: chunks must stay under the inline limit
    settings = PrepareSettings(video_fps=4, max_height=2160, media_resolution="MEDIA_RESOLUTION_LOW")
    plan = _plan(_video(3600.0, w=3840, h=2160), max_chunk=3600.0, settings=settings)
    assert max(c.duration_s for c in plan.chunks) < 3600
    assert len(plan.chunks) > 1


def test_image_one_chunk_resized_tokens():
    p = ProbeResult(
        media_type=MediaType.IMAGE,
        format_name="image2",
        width=4000,
        height=3000,
        has_video=True,
        video_stream=0,
    )
    plan = _plan(p)
    assert [(c.start_s, c.end_s) for c in plan.chunks] == [(0.0, 0.0)]
    # long side to 768 -> 768x576: one 768 tile on gemini-2 = 258 tokens
    assert plan.estimate.image == token_rules(MODEL).image_tokens(768, 576) == 258
    assert plan.estimate.video == plan.estimate.audio == 0
    small = _plan(p.model_copy(update={"width": 300, "height": 200}))
    assert small.estimate.image == 258
    g3 = _plan(p, model="gemini-3-flash-preview")
    assert g3.estimate.image == token_rules("gemini-3-flash-preview").image_tokens(
        768, 576, "MEDIA_RESOLUTION_LOW"
    )


def test_audio_only():
    p = ProbeResult(
        media_type=MediaType.AUDIO, format_name="mp3", duration_s=125.0, has_audio=True, audio_stream=0
    )
    plan = _plan(p, max_chunk=60.0, overlap=2.0)
    _check_cover(plan.chunks, 125.0, 60.0, 2.0)
    assert plan.estimate.video == 0
    assert plan.estimate.audio == sum(token_rules(MODEL).audio_tokens(c.duration_s) for c in plan.chunks)


def test_output_capped_by_max_output_tokens():
    plan = plan_media(
        "s3://b/k",
        _video(10.0),
        settings=PrepareSettings(),
        model=MODEL,
        max_chunk_seconds=60,
        overlap_s=1,
        prompt_text="",
        max_output_tokens=100,
    )
    assert plan.estimate.output == 100 and plan.estimate.text == 0
