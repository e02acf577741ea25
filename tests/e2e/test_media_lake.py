"""What a real media lake holds, through the whole job on the embedded services: a phone photo (HEIC),
animated WebP and GIF, audio with cover art, an empty object and a hostile header; every one ends as a
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
    }
    assert media["moving.webp"]["chunks"] >= 1 and media["song.m4a"]["chunks"] >= 1
    bomb, empty = media["bomb.png"], media["empty.jpg"]
    assert (bomb["status"], bomb["reason"]) == ("failed", "image_too_large")
    assert "100000x100000" in bomb["error"]
    assert (empty["status"], empty["reason"]) == ("failed", "empty_object") and "empty" in empty["error"]
    assert summary.items_ok == 4 and summary.items_failed == 2
    answered = read_table(store, S3Location.parse(dest), "annotations", DT.isoformat()).to_pylist()
    assert {r["source_uri"].rsplit("/", 1)[-1] for r in answered} == set(got)
