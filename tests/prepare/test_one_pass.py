from __future__ import annotations

import dataclasses as _dataclasses

import ffmpeg
import pytest
from PIL import Image

from pipeline.errors import MediaError
from pipeline.media import probe
from pipeline.media.ffmpeg import FFmpeg, Spawn
from pipeline.models import MediaType
from pipeline.plan import plan_media
from pipeline.prepare import prepare_media
from pipeline.tasks import DESCRIBE as _DESCRIBE
from tests.media_helpers import FIXTURE_FILES, FIXTURES, OVERLAP_S, prepare_settings, run_pipeline

P_TASK = _dataclasses.replace(_DESCRIBE, prompt="p")

# Structural MP4 brand fields are not metadata; anything else in format tags is.
ALLOWED_TAGS = {"major_brand", "minor_version", "compatible_brands"}
TOLERANCE_S = 0.1


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_prepares_or_fails_cleanly(fixture_outcomes, path):
    outcome = fixture_outcomes[path.name]
    if isinstance(outcome, MediaError):
        assert outcome.reason and outcome.reason != "media_error"
        assert path.name in str(outcome)
        assert path.name.startswith("x_"), f"{path.name} should prepare: {outcome}"
        return
    assert not isinstance(outcome, BaseException)
    result, plan, chunks = outcome
    assert not path.name.startswith("x_"), f"{path.name} should have failed"
    assert len(chunks) == len(plan.chunks)
    settings = plan.settings
    for chunk, spec in zip(chunks, plan.chunks, strict=True):
        info = ffmpeg.probe(chunk.path)
        tags = set((info["format"].get("tags") or {}).keys())
        assert tags <= ALLOWED_TAGS, f"{chunk.path} keeps metadata {tags - ALLOWED_TAGS}"
        for stream in info["streams"]:
            assert stream["codec_type"] in ("video", "audio")
            assert not set((stream.get("tags") or {}).keys()) - {
                "language",
                "handler_name",
                "vendor_id",
                "encoder",
            }
        assert chunk.start_s == pytest.approx(spec.start_s, abs=TOLERANCE_S)
        assert chunk.bytes > 0
        if plan.media_type is MediaType.IMAGE:
            assert chunk.mime_type == "image/jpeg"
            assert max(chunk.width, chunk.height) <= settings.image_max_px
            with Image.open(chunk.path) as im:
                assert not im.getexif() and "icc_profile" not in im.info
            continue
        assert chunk.duration_s == pytest.approx(spec.duration_s, abs=TOLERANCE_S), (chunk, spec)
        if plan.media_type is MediaType.VIDEO:
            assert chunk.mime_type == "video/mp4"
            assert chunk.height <= settings.max_height and chunk.width % 2 == 0 and chunk.height % 2 == 0
            assert chunk.has_audio == result.has_audio
        else:
            assert chunk.mime_type == "audio/ogg" and chunk.width is None and chunk.has_audio
            assert [s["codec_type"] for s in info["streams"]] == ["audio"]  # cover art dropped
            assert info["streams"][0]["channels"] == 1
    # coverage on the source timeline: first chunk at 0, no gaps, last reaches the end
    if plan.media_type is not MediaType.IMAGE:
        assert chunks[0].start_s == 0
        for a, b in zip(chunks, chunks[1:], strict=False):
            assert b.start_s <= a.start_s + a.duration_s + TOLERANCE_S
            assert b.start_s == pytest.approx(a.start_s + a.duration_s - OVERLAP_S, abs=TOLERANCE_S)
        last = chunks[-1]
        assert last.start_s + last.duration_s == pytest.approx(result.duration_s, abs=TOLERANCE_S)


def test_every_real_media_fixture_prepared(fixture_outcomes):
    failed = {n for n, o in fixture_outcomes.items() if isinstance(o, MediaError)}
    assert failed == {p.name for p in FIXTURES.glob("x_*")}


def test_rotation_applied(fixture_outcomes):
    _, _, chunks = fixture_outcomes["v_h264_rotate-90_bbb.mp4"]
    assert chunks[0].height == 360 and chunks[0].width < chunks[0].height  # portrait after rotation
    info = ffmpeg.probe(chunks[0].path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert not video.get("side_data_list")  # no display matrix left to rotate again


def test_exif_orientation_applied(fixture_outcomes):
    _, _, chunks = fixture_outcomes["i_jpeg_exif_orientation6.jpg"]
    src = Image.open(FIXTURES / "i_jpeg_exif_orientation6.jpg")
    from PIL import ImageOps

    upright = ImageOps.exif_transpose(src).convert("RGB")
    out = Image.open(chunks[0].path).convert("RGB")
    assert out.size == upright.size
    # compare a corner region's mean colour, which differs between orientations of this picture
    box = (0, 0, 32, 32)
    a = sum(sum(px) for px in upright.crop(box).getdata())
    b = sum(sum(px) for px in out.crop(box).getdata())
    assert abs(a - b) / (32 * 32 * 3) < 12


def test_interlaced_and_sub_second(fixture_outcomes):
    _, _, chunks = fixture_outcomes["v_h264_ac3_1080i_interlaced.mts"]
    assert chunks[0].height == 360
    _, plan, chunks = fixture_outcomes["v_vp8_vorbis_short.webm"]
    assert len(chunks) == 1 and chunks[0].width and chunks[0].duration_s > 0


def test_large_image_downscaled(fixture_outcomes):
    _, _, chunks = fixture_outcomes["i_png_large_4160x870.png"]
    assert (chunks[0].width, chunks[0].height) == (768, 161)


def test_one_ffmpeg_process_per_source(tmp_path):
    calls: list[Spawn] = []
    path = FIXTURES / "v_h264_aac_2subs.mkv"
    result = probe(path)
    plan = plan_media(
        "v.mkv",
        result,
        settings=prepare_settings(),
        model="gemini-3.8-flash",
        max_chunk_seconds=3.0,
        overlap_s=0.5,
        task=P_TASK,
        max_output_tokens=100,
    )
    chunks = prepare_media(path, plan, result, tmp_path, runner=FFmpeg(on_spawn=calls.append))
    assert len(chunks) == len(plan.chunks) >= 4
    # one ffmpeg pass writes every chunk; then each chunk is read back by ffprobe
    assert [c.tool for c in calls] == ["ffmpeg"] + ["ffprobe"] * len(chunks)
    assert calls[0].argv.count("-i") == 1


def test_no_audio_when_not_kept(tmp_path):
    _, plan, chunks = run_pipeline(
        FIXTURES / "v_vp9_opus_320x180.webm",
        tmp_path,
        settings=prepare_settings(keep_audio=False, max_height=144),
    )
    assert all(not c.has_audio and c.height == 144 for c in chunks)
    assert plan.estimate.audio == 0
