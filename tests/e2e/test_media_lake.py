"""What a real media lake holds, through the whole job on the embedded services: a phone photo (HEIC),
animated WebP and GIF, audio with cover art, an HDR (PQ) clip, a DVD-style clip with non-square pixels,
an empty object and a hostile header; every one ends as a
`media` row with the right type, size, duration, decoder and outcome (issue 13)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from tests import lake_files as make

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 12)


def test_lake_files_end_as_media_rows(services, buckets, tmp_path: Path) -> None:  # noqa: ANN001
    source, dest = buckets
    files = [
        make.heic(tmp_path / "phone.heic", (400, 300)),
        make.animation(tmp_path / "moving.webp", "WEBP", [500, 500, 1000, 1000]),
        make.animation(tmp_path / "same.gif", "GIF", [300] * 4, moving=False),
        make.m4a_with_cover(tmp_path / "song.m4a", 4.0),
        make.png_claiming(tmp_path / "bomb.png", 100_000, 100_000),
        make.hdr_clip(tmp_path / "hdr.mp4", "smpte2084"),
        make.anamorphic_clip(tmp_path / "dvd.mp4"),
    ]
    (tmp_path / "empty.jpg").write_bytes(b"")
    files.append(tmp_path / "empty.jpg")
    store = S3Store()
    for path in files:
        store.upload(path, S3Location.parse(f"{source}/dt={DT.isoformat()}/{path.name}"))

    summary = run_job(Settings(source=source, dest=dest, batch_poll_seconds=0.3), DT, store=store)

    media = {
        r["source_uri"].rsplit("/", 1)[-1]: r
        for r in read_table(store, S3Location.parse(dest), "media", DT.isoformat()).to_pylist()
    }
    assert set(media) == {p.name for p in files}  # nothing lost
    got = {
        name: (
            r["status"],
            r["media_type"],
            r["duration_s"],
            r["width"],
            r["height"],
            r["decoder"],
            r["animation"],
        )
        for name, r in media.items()
        if r["status"] == "ok"
    }
    assert got == {
        "phone.heic": ("ok", "image", None, 400, 300, "pillow", None),
        "moving.webp": ("ok", "video", pytest.approx(3.0), 160, 120, "pillow", "moving"),
        "same.gif": ("ok", "image", None, 160, 120, "pillow", "still"),
        "song.m4a": ("ok", "audio", pytest.approx(4.0, abs=0.05), None, None, "ffmpeg", None),
        "hdr.mp4": ("ok", "video", pytest.approx(2.0, abs=0.05), 320, 240, "ffmpeg", None),
        "dvd.mp4": ("ok", "video", pytest.approx(2.0, abs=0.05), 1024, 576, "ffmpeg", None),
    }
    # PQ was tone-mapped to SDR BT.709; the other videos are SDR; audio and pictures have no such fact
    assert {n: r["dynamic_range"] for n, r in media.items() if r["dynamic_range"]} == {
        "hdr.mp4": "pq",
        "moving.webp": "sdr",
        "dvd.mp4": "sdr",
    }
    assert media["moving.webp"]["chunks"] >= 1 and media["song.m4a"]["chunks"] >= 1
    bomb, empty = media["bomb.png"], media["empty.jpg"]
    assert (bomb["status"], bomb["reason"]) == ("failed", "image_too_large")
    assert "100000x100000" in bomb["error"]
    assert (empty["status"], empty["reason"]) == ("failed", "empty_object") and "empty" in empty["error"]
    assert summary.items_ok == 6 and summary.items_failed == 2
    answered = read_table(store, S3Location.parse(dest), "annotations", DT.isoformat()).to_pylist()
    assert {r["source_uri"].rsplit("/", 1)[-1] for r in answered} == set(got)


def test_truncated_and_mid_gop_recordings_are_answered_on_their_timeline(
    services,
    buckets,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """Issue 13 parts 3 and 4: a truncated MP4 is answered up to where it decodes (warning `truncated`,
    both durations in its row; a file cut within its last 5 s: test_held_out_corpus); one with under a
    second of data fails with the right numbers; a TS cut between keyframes is answered with its picture where it
    starts and its sound from 0 s, and a TS with a 12 s hole keeps what follows the hole at its time."""
    source, dest = buckets
    cut = make.truncated_mp4(tmp_path / "cut.mp4", 0.3)
    stub = make.truncated_mp4(tmp_path / "stub.mp4", 0.03)
    capture, first_picture = make.ts_cut_mid_gop(tmp_path / "capture.ts")
    hole = make.ts_with_hole(tmp_path / "hole.ts", 4.0, 12.0, 4.0)  # blue and sound again from 16 s
    store = S3Store()
    for path in (cut, stub, capture, hole):
        store.upload(path, S3Location.parse(f"{source}/dt={DT.isoformat()}/{path.name}"))
    # 5 fps, static pictures too (a red frame is "static"): the emulator sees where the picture starts
    settings = Settings(
        source=source, dest=dest, batch_poll_seconds=0.3, video_fps=5.0, static_video_fps=None
    )

    summary = run_job(settings, DT, store=store)

    at = S3Location.parse(dest)
    media = {
        r["source_uri"].rsplit("/", 1)[-1]: r
        for r in read_table(store, at, "media", DT.isoformat()).to_pylist()
    }
    row = media["cut.mp4"]
    assert (row["status"], row["reason"], row["duration_s"]) == ("ok", "truncated", pytest.approx(20.0))
    assert 3.0 < row["decodable_duration_s"] < 10.0 and "claims 20.0 s" in row["error"]
    assert media["capture.ts"]["status"] == "ok" and media["capture.ts"]["reason"] is None
    assert media["capture.ts"]["decodable_duration_s"] is None
    row = media["stub.mp4"]
    assert (row["status"], row["reason"]) == ("failed", "truncated")
    assert "claims 20.0 s but its data stops decoding at 0." in row["error"]
    row = media["hole.ts"]
    assert (row["status"], row["reason"], row["duration_s"]) == ("ok", None, pytest.approx(20.0, abs=0.1))
    assert summary.items_ok == 3 and summary.items_failed == 1

    segments = [
        r
        for r in read_table(store, at, "segments", DT.isoformat()).to_pylist()
        if r["source_uri"].endswith("capture.ts")
    ]
    red = [s for s in segments if s["label"] == "scene: red"]
    assert red and red[0]["start_s"] == pytest.approx(first_picture, abs=0.25)  # the source's timeline
    sound = [s for s in segments if "loud" in (s["label"] or "")]
    assert sound and min(s["start_s"] for s in sound) == 0.0  # the sound is kept from 0 s
    hole_segments = [
        r
        for r in read_table(store, at, "segments", DT.isoformat()).to_pylist()
        if r["source_uri"].endswith("hole.ts")
    ]
    blue = [s for s in hole_segments if s["label"] == "scene: blue"]
    assert blue and blue[0]["start_s"] == pytest.approx(16.0, abs=0.5)  # after the hole, at its time
    loud = sorted(s["start_s"] for s in hole_segments if "loud" in (s["label"] or ""))
    assert loud and loud[0] == 0.0 and any(abs(t - 16.0) <= 0.5 for t in loud), hole_segments
    cut_segments = [
        r
        for r in read_table(store, at, "segments", DT.isoformat()).to_pylist()
        if r["source_uri"].endswith("cut.mp4")
    ]
    assert (
        cut_segments
        and max(s["end_s"] for s in cut_segments) <= media["cut.mp4"]["decodable_duration_s"] + 0.1
    )
