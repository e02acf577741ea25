"""The scale nights: the mix of the issue, every object its own bytes, each a file of its kind."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from collections import Counter

from PIL import Image

from pipeline_tools.samples.scale import Kind, generate_scale_night, kind_of, tiny_png


def test_the_mix_is_85_10_5_with_a_long_video_in_every_500():
    kinds = Counter(kind_of(i).value for i in range(10_000))
    assert kinds == {"image": 8480, "clip": 1000, "audio": 500, "long": 20}
    assert Counter(kind_of(i, long_videos=False).value for i in range(1000)) == {
        "image": 850,
        "clip": 100,
        "audio": 50,
    }


def _duration(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True, check=True, text=True,
    )  # fmt: skip
    return float(json.loads(out.stdout)["format"]["duration"])


def test_a_night_is_distinct_files_of_the_right_kinds_and_is_reused(tmp_path):
    night = generate_scale_night(20, tmp_path, long_videos=False)
    assert night.mix() == {"image": 17, "clip": 2, "audio": 1, "long": 0}
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in night.paths}
    assert len(digests) == 20  # no object is a duplicate of another
    for i, path in enumerate(night.paths):
        kind = kind_of(i, long_videos=False)
        if kind is Kind.IMAGE:
            with Image.open(path) as im:
                assert (im.format, im.size) == ("PNG", (320, 240))
        else:
            expected = 6.0 if kind is Kind.CLIP else 8.0
            assert abs(_duration(path) - expected) < 0.2, path.name
    # a second call (a bigger night) reuses what is there
    before = {p: p.stat().st_mtime_ns for p in night.paths}
    bigger = generate_scale_night(24, tmp_path, long_videos=False)
    assert all(p.stat().st_mtime_ns == before[p] for p in night.paths)
    assert len(bigger.paths) == 24


def test_tiny_pngs_are_valid_and_distinct():
    blobs = [tiny_png(i) for i in (0, 1, 255, 256, 99_999)]
    assert len(set(blobs)) == len(blobs)
    for blob in blobs:
        with Image.open(io.BytesIO(blob)) as im:
            im.load()
            assert im.size == (8, 8)
