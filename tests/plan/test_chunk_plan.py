from __future__ import annotations

import dataclasses

import pytest

from pipeline.catalog import model_info, model_limits, token_rules
from pipeline.errors import ConfigError
from pipeline.models import MediaType, ProbeResult
from pipeline.plan import HistoryRow, fit, plan_media, split_chunks
from pipeline.tasks import DESCRIBE, AnswerPrior
from tests.media_helpers import prepare_settings

MODEL = "gemini-2.5-flash-lite"  # 2.x rules: 258 tokens per frame at the default resolution, 66 at LOW
G3 = "gemini-3.8-flash"
PROMPT = "x" * 400  # 100 text tokens
TASK = dataclasses.replace(DESCRIBE, prompt=PROMPT, thinking="LOW")


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


def _plan(p, *, max_chunk=60.0, overlap=2.0, settings=None, model=MODEL, sizes=None, task=TASK):
    return plan_media(
        "s3://b/k",
        p,
        settings=settings or prepare_settings(),
        model=model,
        max_chunk_seconds=max_chunk,
        overlap_s=overlap,
        task=task,
        max_output_tokens=8192,
        answer_sizes=sizes,
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
    assert plan.estimate.image == 0 and plan.estimated_cost_usd == 0


def test_200s_video_by_hand_on_both_families():
    """200 s at 1 fps in 60 s chunks with 2 s overlap: 4 chunks of 51.5 s (ceil((200-2)/58) = 4,
    (200 + 3*2) / 4 = 51.5 s): 52 frames each (one at 0 s, then one per second). LOW resolution: 66
    tokens per frame on 2.x, 70 on 3.x; audio 32 tokens/s = 1648 per chunk (media-resolution, audio and
    token-counting pages)."""
    two = _plan(_video(200.0))
    assert [round(c.duration_s, 3) for c in two.chunks] == [51.5] * 4
    assert (two.estimate.video, two.estimate.audio) == (4 * 52 * 66, 4 * 1648)
    three = _plan(_video(200.0), model=G3)
    assert (three.estimate.video, three.estimate.audio) == (4 * 52 * 70, 4 * 1648)


def test_answers_and_thoughts_come_from_the_prior_without_history():
    """The prior (Task.answer_prior): 150 tokens + 1.5 per second per request, upper bound twice that;
    thoughts: the catalog's typical tokens of the level (LOW on 3.8 Flash), upper bound 2.5 times."""
    plan = _plan(_video(200.0), model=G3)
    prior = TASK.answer_prior
    per_chunk = prior.base_tokens + prior.tokens_per_second * 51.5  # 227.25 -> 228
    assert plan.estimate.output == 4 * 228
    assert plan.estimate.output_max == 4 * 455  # 2 x 227.25 = 454.5 -> 455
    typical = model_info(G3).thinking_for("LOW").typical_thoughts
    assert plan.estimate.thoughts == 4 * typical
    assert plan.estimate.thoughts_max == 4 * int(typical * 2.5)
    assert per_chunk < 455


def test_answers_and_thoughts_follow_the_history_of_the_task():
    """A fitted history replaces the prior: 100 tokens + 2 per second of answer, 300 thoughts."""
    rows = [HistoryRow(G3, "video", "LOW", float(s), 100 + 2 * s, 300) for s in (10, 20, 30, 40, 50, 60)]
    sizes = fit(rows, AnswerPrior(), "test history")
    plan = _plan(_video(200.0), model=G3, sizes=sizes)
    assert plan.estimate.output == 4 * 203  # 100 + 2 x 51.5
    assert plan.estimate.thoughts == 4 * 300
    # a history without spread has no residuals: the upper bound is the expectation itself
    assert plan.estimate.output_max == plan.estimate.output


def test_an_answer_never_exceeds_what_max_output_tokens_leaves():
    plan = plan_media(
        "s3://b/k",
        _video(10.0),
        settings=prepare_settings(),
        model=G3,
        max_chunk_seconds=60,
        overlap_s=1,
        task=dataclasses.replace(TASK, prompt=""),
        max_output_tokens=100,
    )
    assert plan.estimate.text == 0
    assert plan.estimate.thoughts + plan.estimate.output == 100
    assert plan.estimate.thoughts_max + plan.estimate.output_max == 100


def test_audio_dropped_when_not_kept():
    plan = _plan(_video(100.0), settings=prepare_settings(keep_audio=False))
    assert plan.estimate.audio == 0
    plan = _plan(_video(100.0, audio=False))
    assert plan.estimate.audio == 0


def test_chunks_shrink_to_fit_the_context():
    # 24 fps at default resolution: 258*24 + 32 = 6224 tokens/s -> ~168 s per request on a 1M context
    settings = prepare_settings(video_fps=24, media_resolution="MEDIA_RESOLUTION_UNSPECIFIED", max_height=144)
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
    settings = prepare_settings(video_fps=4, max_height=2160, media_resolution="MEDIA_RESOLUTION_LOW")
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
    # 2.x at LOW: 64 tokens an image (google-genai MediaResolution: "low (64 tokens)")
    assert plan.estimate.image == 64
    assert plan.estimate.video == plan.estimate.audio == 0
    # 2.x at the default resolution: long side to 768 -> 768x576, one 768 px tile = 258 tokens; a
    # 300x200 image has both sides <= 384 px: 258 as well
    default = prepare_settings(media_resolution="MEDIA_RESOLUTION_UNSPECIFIED")
    assert _plan(p, settings=default).estimate.image == 258
    assert _plan(p.model_copy(update={"width": 300, "height": 200}), settings=default).estimate.image == 258
    # 3.x: LOW 280, default 1120 per image whatever its size (media-resolution page)
    assert _plan(p, model=G3).estimate.image == 280
    assert _plan(p, model=G3, settings=default).estimate.image == 1120
    assert plan.estimate.output == TASK.answer_prior.image_tokens


def test_audio_only():
    p = ProbeResult(
        media_type=MediaType.AUDIO, format_name="mp3", duration_s=125.0, has_audio=True, audio_stream=0
    )
    plan = _plan(p, max_chunk=60.0, overlap=2.0)
    _check_cover(plan.chunks, 125.0, 60.0, 2.0)
    assert plan.estimate.video == 0
    assert plan.estimate.audio == sum(token_rules(MODEL).audio_tokens(c.duration_s) for c in plan.chunks)
