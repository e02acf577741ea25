"""The estimator against the hand-worked documented token cases (tests/documented_cases.py): a plan of a
source of that size and length predicts exactly the tokens the documentation says the service bills."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline.models import MediaType, ProbeResult
from pipeline.plan import plan_media
from pipeline.tasks import DESCRIBE
from tests.documented_cases import TOKEN_CASES, TokenCase
from tests.media_helpers import prepare_settings

TASK = dataclasses.replace(DESCRIBE, prompt="")


def _probe(case: TokenCase) -> ProbeResult:
    kind = MediaType(case.kind)
    return ProbeResult(
        media_type=kind,
        format_name="test",
        duration_s=case.seconds or None,
        width=case.width or None,
        height=case.height or None,
        has_video=kind is not MediaType.AUDIO,
        has_audio=kind is MediaType.AUDIO or case.with_audio,
        video_stream=0 if kind is not MediaType.AUDIO else None,
        audio_stream=1 if case.with_audio else (0 if kind is MediaType.AUDIO else None),
    )


@pytest.mark.parametrize("case", TOKEN_CASES, ids=lambda c: c.name)
def test_the_plan_predicts_the_documented_tokens(case: TokenCase) -> None:
    # no downscale: the chunk keeps the documented size, frame rate and length
    settings = prepare_settings(
        media_resolution=case.resolution, image_max_px=4096, max_height=4096, video_fps=case.fps
    )
    plan = plan_media(
        "s3://b/case",
        _probe(case),
        settings=settings,
        model=case.model,
        max_chunk_seconds=600,
        overlap_s=0,
        task=TASK,
    )
    e = plan.estimate
    got = {"IMAGE": e.image, "VIDEO": e.video, "AUDIO": e.audio}
    assert {k: v for k, v in got.items() if v} == case.tokens, case.source
