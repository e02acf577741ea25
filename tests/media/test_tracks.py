"""More than one track (issue 13 part 6): which sound track is analysed, which subtitle track is read,
how they are counted, and the subtitle text each chunk carries (times on the source's timeline)."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Settings
from pipeline.media import probe
from pipeline.media.probe import _decide
from pipeline.media.subtitles import HEADER, Cue, bitmap_note, chunk_context, extract_cues, parse_srt
from pipeline.models import ChunkSpec, Track
from pipeline.plan import plan_for_run
from pipeline.prepare import prepare_media
from pipeline.tasks import DESCRIBE, track_prompt
from tests import lake_files
from tests import track_files as make

# describe's cues of the 6 s file, cut for chunks [0, 3.5) and [2.5, 6) (max 3.5 s, 1 s overlap): the ASS
# track is the default one; its "Crossing cue" (2.75-3.25) is in both chunks.
CHUNK_TEXT = [
    f"{HEADER}\n[1.00-2.00] Styled line second half\n[2.75-3.25] Crossing cue",
    f"{HEADER}\n[2.75-3.25] Crossing cue",
]


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make.two_sounds_and_subtitles(tmp_path_factory.mktemp("tracks") / "tracks.mkv")


def _settings() -> Settings:
    # one request per chunk (no split-off sound request), so the estimate is one prompt per chunk
    return Settings(max_chunk_seconds=3.5, overlap_seconds=1.0, audio_model="")


def _peak_hz(path: Path) -> float:
    pcm = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    samples = np.frombuffer(pcm, dtype=np.float32)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * 16000 / len(samples))


def test_the_default_tracks_are_chosen_and_every_track_is_counted(tracks: Path) -> None:
    found = probe(tracks, profile=False)
    assert found.audio_stream == 2  # the second sound track, flagged default (1000 Hz)
    assert found.subtitle_stream == 4  # the ASS track, flagged default, not the first (SRT)
    assert (found.tracks("audio"), found.tracks("subtitle")) == (2, 2)


def test_without_a_default_the_first_track_is_chosen(tmp_path: Path) -> None:
    found = probe(make.mov_text_mp4(tmp_path / "captions.mp4"), profile=False)
    assert found.subtitle_stream == 1 and found.tracks("subtitle") == 1 and found.tracks("audio") == 0


def test_bitmap_subtitles_are_counted_not_read() -> None:
    """Two bitmap tracks in one file, as ffprobe shows them (real PGS and DVD files: the next test)."""
    data = {
        "format": {"format_name": "matroska,webm", "duration": "4.0"},
        "streams": [
            {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 64, "height": 48},
            {"index": 1, "codec_type": "audio", "codec_name": "aac"},
            {"index": 2, "codec_type": "subtitle", "codec_name": "hdmv_pgs_subtitle"},
            {"index": 3, "codec_type": "subtitle", "codec_name": "dvd_subtitle"},
        ],
    }
    found = _decide(data, Path("film.mkv"), "film.mkv", None)
    assert found.subtitle_stream is None and found.tracks("subtitle") == 2
    note = bitmap_note(found, "film.mkv")
    assert note is not None and "dvd_subtitle, hdmv_pgs_subtitle" in note and "film.mkv" in note


@pytest.mark.parametrize(("codec", "codec_name"), [("copy", "hdmv_pgs_subtitle"), ("dvdsub", "dvd_subtitle")])
def test_real_bitmap_subtitle_tracks_are_counted_not_read(
    tmp_path: Path, codec: str, codec_name: str
) -> None:
    """A real PGS track (a .sup written segment by segment) and the DVD track ffmpeg re-encodes from
    it: ffmpeg decodes both (the box is drawn by overlay), the pipeline counts them, reads no text, and
    plans the picture's 3 s, not the 4294967 s ffmpeg 5.1's dvdsub encoder gives the cue with no end."""
    path = lake_files.bitmap_subtitled(tmp_path / f"film-{codec}.mkv", codec)
    overlay = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-filter_complex", "[0:v][0:s]overlay,crop=100:20:20:20",
         "-ss", "1", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert len(overlay) == 100 * 20 and min(overlay) > 200  # the subtitle's white box, on screen at 1 s
    found = probe(path, profile=False)
    stream = next(s for s in found.streams if s.codec_type == "subtitle")
    assert stream.codec_name == codec_name
    assert found.subtitle_stream is None and found.tracks("subtitle") == 1
    assert found.duration_s == pytest.approx(3.0, abs=0.05)
    note = bitmap_note(found, path.name)
    assert note is not None and codec_name in note


@pytest.mark.parametrize(
    ("maker", "expected"),
    [
        (
            make.mov_text_mp4,
            [(0.5, 1.5, "Hello world"), (3.0, 4.0, "Across the boundary"), (5.0, 5.5, "Only at the end")],
        ),
        (make.webvtt_mkv, [(0.5, 1.25, "Web line one"), (1.5, 1.9, "Web two")]),
    ],
)
def test_text_tracks_are_read_with_their_times(tmp_path: Path, maker, expected) -> None:  # noqa: ANN001
    path = maker(tmp_path / ("clip.mp4" if maker is make.mov_text_mp4 else "clip.mkv"))
    cues = extract_cues(path, probe(path, profile=False))
    assert [(c.start_s, c.end_s, c.text) for c in cues] == expected


def test_srt_markup_and_ass_line_breaks_are_dropped() -> None:
    text = '1\n00:00:01,000 --> 00:00:02,500\n<font size="20"><b>Bold</b>\\Nnext</font>\n\n2\n00:00:03,000 --> 00:00:04,000\n{\\an8}\n'
    assert parse_srt(text) == [Cue(1.0, 2.5, "Bold next")]


def test_a_cue_crossing_a_chunk_boundary_is_in_both_chunks() -> None:
    cues = [Cue(0.5, 1.0, "a"), Cue(3.0, 4.0, "b"), Cue(5.0, 5.5, "c")]
    assert chunk_context(cues, 0.0, 3.5) == f"{HEADER}\n[0.50-1.00] a\n[3.00-4.00] b"
    assert chunk_context(cues, 2.5, 6.0) == f"{HEADER}\n[3.00-4.00] b\n[5.00-5.50] c"
    assert chunk_context(cues, 1.0, 3.0) == ""  # touching is not overlapping


def test_the_estimate_counts_the_subtitles_sent(tracks: Path) -> None:
    found = probe(tracks, profile=False)
    cues = extract_cues(tracks, found)
    with_subs = plan_for_run("s3://b/tracks.mkv", found, _settings(), DESCRIBE, subtitles=cues)
    without = plan_for_run("s3://b/tracks.mkv", found, _settings(), DESCRIBE)
    assert with_subs.chunks == [
        ChunkSpec(index=0, start_s=0.0, end_s=3.5),
        ChunkSpec(index=1, start_s=2.5, end_s=6.0),
    ]
    assert with_subs.sound_estimate is None
    # By hand: ~4 characters a token (gemini-api.md, "Text: roughly 4 characters per token"), over the
    # request's text parts joined (the subtitles, then the prompt), rounded up once per request.
    prompt = len(track_prompt(DESCRIBE.prompt, Track.ALL))
    # header 67 + newline; "[1.00-2.00] Styled line second half" 35 + newline; "[2.75-3.25] Crossing cue" 24
    assert len(CHUNK_TEXT[0]) == 67 + 1 + 35 + 1 + 24 == 128 and len(CHUNK_TEXT[1]) == 67 + 1 + 24 == 92
    expected = sum(math.ceil((n + prompt) / 4) for n in (128, 92))
    assert with_subs.estimate.text == expected
    assert without.estimate.text == 2 * math.ceil(prompt / 4)
    assert with_subs.estimate.video == without.estimate.video


def test_prepared_chunks_carry_their_subtitles_and_the_default_sound(tracks: Path, tmp_path: Path) -> None:
    found = probe(tracks, profile=False)
    plan = plan_for_run("s3://b/tracks.mkv", found, _settings(), DESCRIBE)
    chunks = prepare_media(tracks, plan, found, tmp_path, subtitles=True)
    assert [c.subtitles for c in chunks] == CHUNK_TEXT
    for chunk in chunks:
        assert chunk.path is not None and chunk.has_audio
        assert _peak_hz(Path(chunk.path)) == pytest.approx(1000, abs=20)  # not the first track's 440 Hz
    plain = prepare_media(tracks, plan, found, tmp_path / "plain")
    assert [c.subtitles for c in plain] == [None, None]
