"""What really decodes (issue 13 parts 3 and 4): a truncated file is answered up to where its data
stops, or refused with the right numbers; a TS cut between keyframes keeps its source's timeline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pipeline.errors import CorruptMediaError
from pipeline.media import decode_warning, probe, verify_decodable
from pipeline.media.decodable import END_PRECISION_S, TAIL_WINDOW_S
from pipeline.media.ffmpeg import FFmpeg, Spawn
from tests import lake_files as make
from tests.media_helpers import FIXTURES, prepare_settings, run_pipeline

FRAME_S = 1 / 25  # the test clips' frame period


def _last_frame_end(path: Path) -> float:
    """Where the video of a (cut) file really stops: its last decoded frame's end, by decoding it all."""
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "quiet", "-select_streams", "v", "-show_entries", "frame=pts_time", "-of", "csv=p=0",
         str(path)],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return max(float(t.strip(",")) for t in out.split() if t.strip(",")) + FRAME_S


def test_truncated_file_is_answered_up_to_where_it_decodes(tmp_path: Path) -> None:
    path = make.truncated_mp4(tmp_path / "cut.mp4", 0.3)
    claimed = probe(path, profile=False)
    assert claimed.duration_s == pytest.approx(20.0)  # the header still claims every second
    calls: list[Spawn] = []
    found = verify_decodable(path, claimed, runner=FFmpeg(on_spawn=calls.append))
    real_end = _last_frame_end(path)
    assert 2.0 < real_end < 15.0
    assert found.claimed_duration_s == pytest.approx(20.0)
    assert found.duration_s == pytest.approx(real_end, abs=END_PRECISION_S + FRAME_S)
    # head, tail, then a bisection bounded by the length, not a decode of everything
    assert len(calls) <= 2 + math.ceil(math.log2((20.0 - TAIL_WINDOW_S) / END_PRECISION_S)) + 1
    warning = decode_warning(found, "s3://b/cut.mp4")
    assert warning is not None and warning[0] == "truncated"
    assert "claims 20.0 s" in warning[1] and f"at {found.duration_s:.1f} s" in warning[1]

    _, plan, chunks = run_pipeline(path, tmp_path / "out", max_chunk_s=60)
    assert plan.duration_s == found.duration_s and plan.chunks[-1].end_s == pytest.approx(found.duration_s)
    assert sum(c.duration_s for c in chunks) == pytest.approx(found.duration_s, abs=0.15)


@pytest.mark.parametrize("share", [0.03])
def test_under_a_second_fails_with_the_right_numbers(tmp_path: Path, share: float) -> None:
    path = make.truncated_mp4(tmp_path / "stub.mp4", share)
    real_end = _last_frame_end(path)
    assert real_end < 1.0
    with pytest.raises(CorruptMediaError) as info:
        verify_decodable(path, probe(path, profile=False))
    message = str(info.value)
    assert info.value.reason == "truncated" and "stub.mp4" in message and "claims 20.0 s" in message
    stops = float(message.split("stops decoding at ")[1].split(" s")[0])
    assert stops == pytest.approx(real_end, abs=END_PRECISION_S + FRAME_S)
    assert "upload it again" in message


def test_the_truncated_fixture_says_where_its_data_stops() -> None:
    path = FIXTURES / "x_truncated_100000B.mp4"  # claims 35 s, ~6 frames of data
    with pytest.raises(CorruptMediaError) as info:
        verify_decodable(path, probe(path, profile=False))
    assert info.value.reason == "truncated"
    assert "claims 35.2 s" in str(info.value) and "stops decoding at 0." in str(info.value)


def test_a_whole_file_is_not_truncated(tmp_path: Path) -> None:
    path = make.truncated_mp4(tmp_path / "whole.mp4", 1.0)
    found = verify_decodable(path, probe(path, profile=False))
    assert found.claimed_duration_s is None and found.duration_s == pytest.approx(20.0)
    assert found.picture_start_s is None and decode_warning(found, "whole.mp4") is None


def test_ts_cut_between_keyframes_keeps_the_source_timeline(tmp_path: Path) -> None:
    path, first_picture = make.ts_cut_mid_gop(tmp_path / "capture.ts")
    assert first_picture > 1.0  # the head check used to look at the first second only
    # sampled at 10 fps, so the chunk shows where the picture starts to a tenth of a second
    settings = prepare_settings(video_fps=10.0, static_fps=None)  # a red picture is "static"
    result, plan, chunks = run_pipeline(path, tmp_path / "out", settings, max_chunk_s=60)
    assert result.picture_start_s == pytest.approx(first_picture, abs=FRAME_S)
    assert plan.chunks[0].start_s == 0.0 and plan.chunks[-1].end_s == pytest.approx(
        result.duration_s, abs=1e-3
    )
    (chunk,) = chunks
    assert chunk.has_audio and chunk.duration_s == pytest.approx(result.duration_s, abs=0.1)

    import ffmpeg as ffmpeg_python

    info = ffmpeg_python.probe(chunk.path)
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert float(audio["start_time"]) == pytest.approx(0.0, abs=0.03)  # the sound is kept from 0 s
    # the picture: black before the first keyframe, red from it on, at its time on the source's timeline
    frames, _ = (
        ffmpeg_python.input(chunk.path)
        .output("pipe:", format="rawvideo", pix_fmt="rgb24", vf="fps=10,scale=8:8")
        .run(capture_stdout=True, quiet=True)
    )
    rgb = np.frombuffer(frames, np.uint8).reshape(-1, 8, 8, 3).mean(axis=(1, 2))
    red = [i / 10 for i, (r, g, b) in enumerate(rgb) if r > 150 and g < 80]
    black = [i / 10 for i, px in enumerate(rgb) if px.max() < 30]
    assert black and black[0] == 0.0
    assert red and red[0] == pytest.approx(first_picture, abs=0.15) and max(black) < red[0]


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".ts"])
def test_a_recording_cut_in_its_last_seconds_is_answered_up_to_there(tmp_path: Path, suffix: str) -> None:
    """A 20 s recording whose bytes stop at 17.5 s: the tail window (the last 5 s) still decodes, so
    only the packets' end tells it is truncated. MP4 and MKV claim 20 s; a TS claims what it holds."""
    path = make.cut_recording(tmp_path / f"cut{suffix}", 17.5)
    real_end = make.decoded_end(path)  # a decode of everything, apart from the pipeline
    assert real_end == pytest.approx(17.5, abs=0.5)
    claimed = probe(path, profile=False)
    result, plan, chunks = run_pipeline(path, tmp_path / "out", max_chunk_s=60)
    assert result.duration_s == pytest.approx(real_end, abs=END_PRECISION_S)
    assert plan.chunks[-1].end_s == pytest.approx(result.duration_s, abs=1e-3)
    assert sum(c.duration_s for c in chunks) == pytest.approx(real_end, abs=0.15)
    warning = decode_warning(result, path.name)
    if suffix == ".ts":  # no header claims a length: nothing was lost as far as the file says
        assert claimed.duration_s == pytest.approx(real_end, abs=0.1)
        assert result.claimed_duration_s is None and warning is None
    else:
        assert claimed.duration_s == pytest.approx(20.0, abs=0.05)
        assert result.claimed_duration_s == claimed.duration_s
        assert warning is not None and warning[0] == "truncated"
        assert "claims 20.0 s" in warning[1] and "stops decoding at 17." in warning[1]


@pytest.mark.parametrize("suffix", [".mp4"])
def test_a_recording_cut_after_0_6_s_is_refused_with_its_numbers(tmp_path: Path, suffix: str) -> None:
    path = make.cut_recording(tmp_path / f"stub{suffix}", 0.6)
    real_end = make.decoded_end(path)
    assert real_end == pytest.approx(0.6, abs=0.5)
    with pytest.raises(CorruptMediaError) as info:
        verify_decodable(path, probe(path, profile=False))
    message = str(info.value)
    assert info.value.reason == "truncated" and f"stub{suffix}: claims 20.0 s" in message
    stops = float(message.split("stops decoding at ")[1].split(" s")[0])
    assert stops == pytest.approx(real_end, abs=END_PRECISION_S + FRAME_S)
    assert "under 1 s of it decodes" in message


def test_a_vfr_stream_whose_last_frame_lasts_is_not_truncated() -> None:
    # its last frame starts at 7.16 s and is shown until the claimed 8.73 s: only packets say so
    path = FIXTURES / "v_h264_vfr_3026x1386_noaudio.mp4"
    found = verify_decodable(path, probe(path, profile=False))
    assert found.claimed_duration_s is None and found.duration_s == pytest.approx(8.726, abs=0.01)


def _rgb_and_loudness(path: Path, fps: float) -> tuple[list[str], list[bool]]:
    """A prepared chunk's picture as one letter per 1/fps s (R red, B blue, k black, ? other), and its
    sound as loud-or-not per 1/fps s, decoded apart from the pipeline."""
    import ffmpeg as ffmpeg_python

    frames, _ = (
        ffmpeg_python.input(str(path))
        .output("pipe:", format="rawvideo", pix_fmt="rgb24", vf=f"fps={fps:g},scale=8:8")
        .run(capture_stdout=True, quiet=True)
    )
    rgb = np.frombuffer(frames, np.uint8).reshape(-1, 8, 8, 3).mean(axis=(1, 2))
    letters = [
        "R" if r > 150 and b < 80 else "B" if b > 150 and r < 80 else "k" if max(r, g, b) < 30 else "?"
        for r, g, b in rgb
    ]
    sound, _ = (
        ffmpeg_python.input(str(path))
        .output("pipe:", format="s16le", ac=1, ar=1000)
        .run(capture_stdout=True, quiet=True)
    )
    pcm = np.frombuffer(sound, np.int16).astype(float)
    step = round(1000 / fps)
    loud = [
        bool(np.sqrt((pcm[i : i + step] ** 2).mean()) > 1000) for i in range(0, len(pcm) - step + 1, step)
    ]
    return letters, loud


def test_a_ts_with_a_hole_keeps_the_source_timeline_after_it(tmp_path: Path) -> None:
    """Issue 13 part 3: 4 s, a 12 s hole (ffmpeg closes up jumps over 10 s by default), 4 s more. The
    decode goes on after the hole, every chunk is cut on the source's timeline, the sound is kept."""
    path = make.ts_with_hole(tmp_path / "hole.ts", 4.0, 12.0, 4.0)
    result, plan, chunks = run_pipeline(
        path, tmp_path / "out", prepare_settings(video_fps=2.0, static_fps=None), max_chunk_s=12
    )
    assert result.duration_s == pytest.approx(20.0, abs=0.1) and result.claimed_duration_s is None
    first, last = plan.chunks[0], plan.chunks[-1]
    assert len(plan.chunks) == 2 and first.start_s == 0.0 and last.end_s == pytest.approx(20.0, abs=0.1)
    assert 4.0 < last.start_s < 16.0  # the second chunk starts in the hole and sees the blue begin
    blue_from = 16.0  # where the second segment starts on the source's timeline
    for planned, chunk in zip(plan.chunks, chunks, strict=True):
        assert chunk.has_audio
        letters, loud = _rgb_and_loudness(chunk.path, 2.0)
        for i, letter in enumerate(letters):
            t = planned.start_s + i / 2  # the source time this sample shows
            if abs(t - blue_from) > 0.5:  # the picture before the hole is held through it
                assert letter == ("B" if t > blue_from else "R"), (planned.start_s, i, "".join(letters))
        for i, is_loud in enumerate(loud):
            t = planned.start_s + i / 2
            if min(abs(t - 4.0), abs(t - blue_from), abs(t - 20.0)) > 0.5:
                assert is_loud == (t < 4.0 or t > blue_from), (planned.start_s, i, loud)
    assert "B" in _rgb_and_loudness(chunks[-1].path, 2.0)[0]
