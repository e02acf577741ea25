"""A video's sound sent to its own (cheaper) model: planning, the one-pass prepare and the estimate."""

from __future__ import annotations

import subprocess

import ffmpeg
import pytest

from pipeline.account import estimate_cost, plan_cost
from pipeline.catalog import token_rules
from pipeline.config import Settings
from pipeline.media import probe
from pipeline.media.ffmpeg import FFmpeg, Spawn
from pipeline.models import MediaType, Track
from pipeline.plan import AnswerSizeModel
from pipeline.plan.chunk_plan import _Shape, estimate_requests
from pipeline.prepare import prepare_media
from pipeline.tasks import DESCRIBE, TRACK_NOTES
from tests.media_helpers import FIXTURES, MODEL, OVERLAP_S, TASK, prepare_settings, run_pipeline

AUDIO_MODEL = "gemini-3.5-flash-lite"
SPLIT = prepare_settings(audio_model=AUDIO_MODEL)
TOLERANCE_S = 0.1
# The fixtures are seconds long: a second request's expected answer and thoughts cost more than the
# cheaper audio rate saves on them, so planning keeps their sound in the video request. A one-token
# answer cap makes the split the cheaper plan, as it is for minutes-long chunks with the defaults.
SHORT_ANSWERS = 1
VIDEOS_WITH_SOUND = [
    "v_h264_aac_2subs.mkv",
    "v_h264_ac3_1080i_interlaced.mts",
    "v_h264_rotate-90_bbb.mp4",
    "v_vp9_opus_320x180.webm",
]


def _split(path, out_dir, **kw):
    return run_pipeline(path, out_dir, settings=SPLIT, max_output_tokens=SHORT_ANSWERS, **kw)


# 1-2 s of sound: even a one-token answer and the track notes cost more than 32-64 audio tokens save at
# Flash-Lite's rate ($0.30/M against 3.8 Flash's $0.75/M).
TOO_SHORT_TO_SPLIT = {"v_h264_ac3_1080i_interlaced.mts", "v_h264_rotate-90_bbb.mp4"}


@pytest.mark.parametrize("name", VIDEOS_WITH_SOUND)
def test_each_chunk_becomes_a_silent_picture_and_a_sound_file_that_match_the_plan(tmp_path, name):
    result, plan, _ = _split(FIXTURES / name, tmp_path / "planned")
    if name in TOO_SHORT_TO_SPLIT:
        assert plan.settings.audio_model is None
        plan = plan.model_copy(
            update={"settings": plan.settings.model_copy(update={"audio_model": AUDIO_MODEL})}
        )
    assert plan.settings.audio_model == AUDIO_MODEL
    chunks = prepare_media(FIXTURES / name, plan, result, tmp_path)
    pictures = [c for c in chunks if c.track is Track.PICTURE]
    sounds = [c for c in chunks if c.track is Track.SOUND]
    assert len(pictures) == len(sounds) == len(plan.chunks) and len(chunks) == 2 * len(plan.chunks)
    for spec, picture, sound in zip(plan.chunks, pictures, sounds, strict=True):
        assert picture.index == sound.index == spec.index
        assert picture.start_s == sound.start_s == spec.start_s
        p_info, s_info = ffmpeg.probe(picture.path), ffmpeg.probe(sound.path)
        assert [s["codec_type"] for s in p_info["streams"]] == ["video"], picture.path
        assert picture.mime_type == "video/mp4" and not picture.has_audio
        assert [s["codec_type"] for s in s_info["streams"]] == ["audio"], sound.path
        assert sound.mime_type == "audio/ogg" and s_info["streams"][0]["channels"] == 1
        # both halves cover the planned span, as ffprobe reads the files
        assert float(p_info["format"]["duration"]) == pytest.approx(spec.duration_s, abs=TOLERANCE_S)
        assert float(s_info["format"]["duration"]) == pytest.approx(spec.duration_s, abs=TOLERANCE_S)
    last = plan.chunks[-1]
    assert last.end_s == pytest.approx(result.duration_s, abs=TOLERANCE_S)


def test_the_split_is_still_one_ffmpeg_pass(tmp_path):
    calls: list[Spawn] = []
    path = FIXTURES / "v_h264_aac_2subs.mkv"
    result, plan, _ = _split(path, tmp_path / "planned", max_chunk_s=3.0)
    chunks = prepare_media(path, plan, result, tmp_path / "spied", runner=FFmpeg(on_spawn=calls.append))
    assert len(plan.chunks) >= 3 and len(chunks) == 2 * len(plan.chunks)
    assert [c.tool for c in calls] == ["ffmpeg"] + ["ffprobe"] * len(chunks)
    assert calls[0].argv.count("-i") == 1


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("v_h264_vfr_3026x1386_noaudio.mp4", "a video without sound"),
        ("a_flac_stereo.flac", "an audio file: its sound is the content"),
        ("i_webp_lossy.webp", "an image"),
        ("v_vp8_vorbis_short.webm", "72 ms of sound: a second prompt costs more than its audio saves"),
    ],
)
def test_only_videos_with_sound_are_split(tmp_path, name, why):
    _, plan, chunks = _split(FIXTURES / name, tmp_path)
    assert plan.settings.audio_model is None, why
    assert plan.sound_estimate is None
    assert all(c.track is Track.ALL for c in chunks)


def test_no_split_when_the_audio_model_is_the_run_model_or_sound_is_dropped(tmp_path):
    path = FIXTURES / "v_vp9_opus_320x180.webm"
    _, same, _ = run_pipeline(path, tmp_path / "same", settings=prepare_settings(audio_model=MODEL))
    assert same.settings.audio_model is None and same.estimate.audio > 0
    dropped = prepare_settings(audio_model=AUDIO_MODEL, keep_audio=False)
    _, mute, chunks = run_pipeline(path, tmp_path / "mute", settings=dropped)
    assert mute.sound_estimate is None and all(not c.has_audio for c in chunks)


def test_the_estimate_prices_each_half_at_its_own_model(tmp_path):
    path = FIXTURES / "v_vp9_opus_320x180.webm"
    _, whole, _ = run_pipeline(path, tmp_path / "whole", max_output_tokens=SHORT_ANSWERS)
    _, split, _ = _split(path, tmp_path / "split")
    assert len(split.chunks) == len(whole.chunks) >= 2
    sound = split.sound_estimate
    assert sound is not None
    # the audio tokens move to the sound requests, the picture requests keep the video tokens
    assert split.estimate.audio == 0 and sound.audio == whole.estimate.audio
    assert split.estimate.video == whole.estimate.video
    # every request carries the prompt and its track's note, and is expected to answer
    rules = token_rules(AUDIO_MODEL)
    per_request = rules.text_tokens("Describe the attached media." + TRACK_NOTES[Track.SOUND])
    assert sound.text == per_request * len(split.chunks)
    assert sound.output == split.estimate.output == whole.estimate.output
    expected = estimate_cost(MODEL, split.estimate, tier="batch") + estimate_cost(
        AUDIO_MODEL, sound, tier="batch"
    )
    assert plan_cost(MODEL, split, tier="batch") == expected
    assert plan_cost(MODEL, split, tier="batch") < plan_cost(MODEL, whole, tier="batch")


def test_the_sound_stays_in_the_video_request_where_a_second_request_costs_more(tmp_path):
    path = FIXTURES / "v_vp9_opus_320x180.webm"  # 5 s: 2.5 s of sound per chunk
    _, plan, chunks = run_pipeline(path, tmp_path, settings=SPLIT)  # the prior's answers and thoughts
    assert plan.settings.audio_model is None and plan.sound_estimate is None and plan.estimate.audio > 0
    assert all(c.track is Track.ALL and c.has_audio for c in chunks)
    split = plan.model_copy(deep=True)
    split.settings.audio_model = AUDIO_MODEL
    shape = _Shape(TASK, None, AnswerSizeModel(prior=TASK.answer_prior))
    split.estimate, split.sound_estimate = estimate_requests(
        plan.chunks, probe(path), split.settings, MODEL, shape
    )
    assert plan_cost(MODEL, plan, tier="batch") <= plan_cost(MODEL, split, tier="batch")


def test_describe_splits_by_default_and_an_empty_setting_turns_it_off(monkeypatch):
    assert Settings().prepare_settings(DESCRIBE).audio_model == AUDIO_MODEL
    assert Settings(audio_model="").prepare_settings(DESCRIBE).audio_model is None
    monkeypatch.setenv("MEDIA_PIPELINE_AUDIO_MODEL", "none")
    assert Settings().prepare_settings(DESCRIBE).audio_model is None
    with pytest.raises(ValueError, match="unknown model 'gemini-0'"):
        Settings(audio_model="gemini-0")
    with pytest.raises(ValueError, match="shut down on 2026-12-01.*use gemini-3.5-flash-lite"):
        Settings(audio_model="gemini-2.5-flash")


def test_overlap_and_coverage_hold_for_both_halves(tmp_path):
    result, plan, chunks = _split(FIXTURES / "v_h264_aac_2subs.mkv", tmp_path)
    assert result.media_type is MediaType.VIDEO
    for track in (Track.PICTURE, Track.SOUND):
        files = [c for c in chunks if c.track is track]
        assert files[0].start_s == 0
        for a, b in zip(files, files[1:], strict=False):
            assert b.start_s == pytest.approx(a.start_s + a.duration_s - OVERLAP_S, abs=TOLERANCE_S)
        assert files[-1].start_s + files[-1].duration_s == pytest.approx(result.duration_s, abs=TOLERANCE_S)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


def _mean_volume_db(path, start: float, end: float) -> float:
    proc = subprocess.run(
        ["ffmpeg", "-nostats", "-ss", str(start), "-to", str(end), "-i", str(path), "-af", "volumedetect",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    line = next(x for x in proc.stderr.splitlines() if "mean_volume" in x)
    return float(line.split("mean_volume:")[1].split()[0])


@pytest.fixture(scope="module")
def odd_sound(tmp_path_factory):
    """20 s videos whose sound starts 2 s late, or stops after 8 s."""
    out = tmp_path_factory.mktemp("odd_sound")
    picture = ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=20"]
    tone = "sine=frequency=440:sample_rate=44100:duration={}"
    _ffmpeg("-itsoffset", "2", "-f", "lavfi", "-i", tone.format(18), *picture,
            "-map", "1:v", "-map", "0:a", "-c:v", "libx264", "-c:a", "aac", str(out / "late.mp4"))  # fmt: skip
    _ffmpeg(*picture, "-f", "lavfi", "-i", tone.format(8),
            "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-c:a", "aac", str(out / "early_end.mp4"))  # fmt: skip
    return out


@pytest.mark.parametrize("settings", [SPLIT, prepare_settings()], ids=["split", "one request"])
def test_a_late_sound_track_keeps_its_place_on_the_timeline(tmp_path, odd_sound, settings):
    _, plan, chunks = run_pipeline(odd_sound / "late.mp4", tmp_path, settings=settings, max_output_tokens=16)
    first = next(c for c in chunks if c.index == 0 and c.has_audio)
    assert first.duration_s == pytest.approx(plan.chunks[0].duration_s, abs=TOLERANCE_S)
    # silence until the track starts, 2 s into the source (not the tone pulled forward to 0)
    assert _mean_volume_db(first.path, 0.0, 1.8) < -60
    assert _mean_volume_db(first.path, 2.2, 3.5) > -40


def test_a_sound_track_that_ends_early_still_gives_every_chunk_its_sound(tmp_path, odd_sound):
    _, plan, chunks = _split(odd_sound / "early_end.mp4", tmp_path, max_chunk_s=6.0)
    sounds = [c for c in chunks if c.track is Track.SOUND]
    assert len(sounds) == len(plan.chunks) >= 3
    for spec, sound in zip(plan.chunks, sounds, strict=True):
        assert sound.duration_s == pytest.approx(spec.duration_s, abs=TOLERANCE_S)
    last = sounds[-1]
    assert last.start_s > 8 and _mean_volume_db(last.path, 0.0, last.duration_s) < -60
