"""How issue 13 is verified: `media-pipeline demo --media DIR`, as a user runs it (its own process, its
own embedded S3 and emulator), on a mixed directory: every real fixture file (and SOURCES.md, text) next
to a held-out corpus the test makes. Every file ends as exactly one `media` row: the decodable ones
answered with the right media type, the hostile ones failed with a reason that names them, and the
command exits 0. One demo for both sets: its fixed cost (embedded services, the quality gate's imports)
is ~30 s of CPU, paid once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from tests import lake_files as make
from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e


def _corpus(root: Path) -> dict[str, tuple[str, str | None, str | None]]:
    """The files, and what each must end as: (status, media_type or None, reason or None)."""
    root.mkdir()
    make.heic(root / "IMG_0001.HEIC")
    make.animation(root / "spinner.png", "PNG", [200, 200, 400])  # APNG
    make.animation(root / "sticker.webp", "WEBP", [300, 300, 300, 300])
    make.bigtiff(root / "scan.tif")
    make.ts_cut_mid_gop(root / "capture.ts", seconds=4.0, gop_s=2.0)
    make.cut_recording(root / "interrupted.mp4", 8.0, seconds=12.0)
    (root / "empty.mov").write_bytes(b"")
    make.m4a_with_cover(root / "song.m4a", 2.0)
    make.png_claiming(root / "bomb.png", 100_000, 100_000)
    (root / "noise.mp4").write_bytes(os.urandom(64 * 1024))
    return {
        "IMG_0001.HEIC": ("ok", "image", None),
        "spinner.png": ("ok", "video", None),
        "sticker.webp": ("ok", "video", None),
        "scan.tif": ("ok", "image", None),
        "capture.ts": ("ok", "video", None),
        "interrupted.mp4": ("ok", "video", "truncated"),  # answered, with a warning
        "empty.mov": ("failed", None, "empty_object"),
        "song.m4a": ("ok", "audio", None),
        "bomb.png": ("failed", None, "image_too_large"),
        "noise.mp4": ("failed", None, None),  # whichever reason: failed, named, never answered
    }


def test_demo_answers_every_fixture_and_a_held_out_corpus(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    expected = _corpus(lake)
    fixtures = {p.name for p in FIXTURE_MEDIA.iterdir() if p.is_file()}
    assert not fixtures & set(expected)
    for name in fixtures:
        shutil.copyfile(FIXTURE_MEDIA / name, lake / name)
    interrupted_end = make.decoded_end(lake / "interrupted.mp4")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "GEMINI_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "demo", "--media", str(lake), "--out", str(out),
         "--date", "2026-11-05"],
        capture_output=True, text=True, timeout=600, env={**env, "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "offline test double" in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert f"uploaded {len(expected) + len(fixtures)} file(s)" in result.stdout
    assert f"output tables in {out.resolve()}" in result.stdout.replace("\n", "")

    rows = ds.dataset(out / "media", partitioning="hive").to_table().to_pylist()
    names = [r["source_uri"].rsplit("/", 1)[-1] for r in rows]
    assert sorted(names) == sorted(set(expected) | fixtures)  # one row per file: nothing lost or twice
    media = dict(zip(names, rows, strict=True))
    for name in fixtures:  # the real fixtures: the broken ones (x_*) and the text fail, naming the file
        row = media[name]
        broken = name.startswith("x_") or name == "SOURCES.md"
        assert row["status"] == ("failed" if broken else "ok"), (name, row["error"])
        if broken:
            assert name in row["error"]
    assert str(media["x_truncated_100000B.mp4"]["dt"]) == "2026-11-05"
    for name, (status, media_type, reason) in expected.items():
        row = media[name]
        assert row["status"] == status, (name, row["error"])
        if status == "ok":
            assert row["media_type"] == media_type, name
            assert row["reason"] == reason, (name, row["error"])
        else:
            assert row["reason"] and name in row["error"], (name, row["reason"], row["error"])
            if reason is not None:
                assert row["reason"] == reason, (name, row["error"])
    truncated = media["interrupted.mp4"]
    assert truncated["duration_s"] == pytest.approx(12.0, abs=0.05)
    assert truncated["decodable_duration_s"] == pytest.approx(interrupted_end, abs=0.15)
    assert interrupted_end == pytest.approx(8.0, abs=0.5)
    assert media["capture.ts"]["audio_tracks"] == 1 and media["song.m4a"]["width"] is None
    assert (media["scan.tif"]["width"], media["scan.tif"]["height"]) == (300, 200)
    assert (media["IMG_0001.HEIC"]["width"], media["IMG_0001.HEIC"]["height"]) == (320, 240)
    answered = ds.dataset(out / "annotations", partitioning="hive").to_table().to_pylist()
    assert {r["source_uri"].rsplit("/", 1)[-1] for r in answered} == {
        n for n, r in media.items() if r["status"] == "ok"
    }
    quarantine = ds.dataset(out / "quarantine", partitioning="hive").to_table().to_pylist()
    assert {q["source_uri"].rsplit("/", 1)[-1] for q in quarantine} >= {
        n for n in fixtures if n.startswith("x_")
    }
