"""Nights of many small DISTINCT objects for the scale benchmark (#12 part 7): 85% 320x240 PNG, 10% 6 s
clips, 5% 8 s audio, and one multi-chunk video (longer than a chunk) in every 500 objects.

Objects are numbered; the kind of object i depends only on i, so a night of N objects is the first N of
one sequence and a 10,000-object night reuses the 1,000 already made. Each is made cheaply and kept in a
cache directory: a PNG is rendered by Pillow from a few colour blocks with the object's number written in
its pixels; a clip, an audio file or a long video is a copy of the streams of one of a
few base files made once by ffmpeg, with the object's number in a trailing tag (an MP4 `free` box,
an MP3 ID3v1 tag). Every object therefore
has its own bytes (its own sha256: no duplicate of another), and ffmpeg is always given an argument list.

`tiny_png(i)`: a distinct 8x8 PNG of about 100 bytes, for listings of 100,000 objects.
"""

from __future__ import annotations

import io
import os
import random
import struct
import subprocess
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

# Bump when what an object looks like changes: the cache is keyed by it.
SCALE_SAMPLES_VERSION = 4
IMAGE_SIZE = (320, 240)
CLIP_S, AUDIO_S = 6.0, 8.0
LONG_S = 320.0  # longer than the default 300 s chunk: two chunks
BASE_VARIANTS = 3  # base clips / audio files / long videos the copies are made from
# The mix over every 20 objects: 17 images, 2 clips, 1 audio (spread, so that a dozen has each kind);
# every 500th (from the 8th on) a long video.
_CYCLE = ("image", "clip", "image", "audio", *("image",) * 7, "clip", *("image",) * 8)
_LONG_EVERY, _LONG_AT = 500, 7


class Kind(StrEnum):
    IMAGE = "image"
    CLIP = "clip"
    AUDIO = "audio"
    LONG = "long"

    @property
    def suffix(self) -> str:
        return {"image": ".png", "clip": ".mp4", "audio": ".mp3", "long": ".mp4"}[self.value]


def _variant(index: int) -> int:
    """The base file object `index` is a copy of: one per cycle of 20, so a small night needs few."""
    return (index // len(_CYCLE)) % BASE_VARIANTS


def kind_of(index: int, *, long_videos: bool = True) -> Kind:
    if long_videos and index % _LONG_EVERY == _LONG_AT:
        return Kind.LONG
    return Kind(_CYCLE[index % len(_CYCLE)])


def object_name(index: int, *, long_videos: bool = True) -> str:
    kind = kind_of(index, long_videos=long_videos)
    return f"obj{index:06d}_{kind.value}{kind.suffix}"


@dataclass(frozen=True)
class ScaleNight:
    """The first `count` objects of the sequence, as files under `root`."""

    root: Path
    count: int
    long_videos: bool = True

    @property
    def paths(self) -> list[Path]:
        return [self.root / object_name(i, long_videos=self.long_videos) for i in range(self.count)]

    def mix(self) -> dict[str, int]:
        counts = dict.fromkeys((k.value for k in Kind), 0)
        for i in range(self.count):
            counts[kind_of(i, long_videos=self.long_videos).value] += 1
        return counts


def _ffmpeg(args: list[str], out: Path) -> None:
    """Run ffmpeg into a temporary name, then rename: an interrupted run never caches a half file."""
    part = out.with_name(f".{out.stem}.part{out.suffix}")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *args, str(part)]
    proc = subprocess.run(cmd, capture_output=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed for {out.name}: {proc.stderr.decode('utf-8', 'replace')[-600:]}")
    part.rename(out)


def _base_args(kind: Kind, variant: int) -> list[str]:
    w, h = IMAGE_SIZE
    pattern = ("testsrc2", "smptebars", "rgbtestsrc")[variant % 3]
    tone = f"sine=frequency={330 + 110 * variant}:sample_rate=44100"
    if kind is Kind.AUDIO:
        return ["-f", "lavfi", "-i", tone, "-t", f"{AUDIO_S:g}", "-c:a", "libmp3lame", "-b:a", "64k"]
    seconds, fps = (CLIP_S, 15) if kind is Kind.CLIP else (LONG_S, 10)
    video = f"{pattern}=size={w}x{h}:rate={fps}"
    return [
        *("-f", "lavfi", "-i", video, "-f", "lavfi", "-i", tone),
        *("-t", f"{seconds:g}", "-c:v", "libx264", "-preset", "veryfast", "-g", str(2 * fps)),
        *("-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-ac", "1"),
    ]


def _base(cache: Path, kind: Kind, variant: int) -> Path:
    path = cache / "base" / f"{kind.value}_{variant}{kind.suffix}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _ffmpeg(_base_args(kind, variant), path)
    return path


def _copy_with_tag(base: Path, out: Path, index: int) -> None:
    """The bytes of `base` plus a trailing tag naming the object, in the container's own way of carrying
    what players skip: a top-level `free` box for MP4, an ID3v1 tag for MP3. No ffmpeg per object (a
    remux with `-metadata` costs ~0.4 s on a loaded 2-core machine; this costs microseconds), and the
    streams are the base's, bit for bit."""
    label = f"scale object {index}".encode()
    if base.suffix == ".mp3":
        tag = b"TAG" + label[:30].ljust(30, b"\0") + b"\0" * 30 * 2 + b"2026" + b"\0" * 30 + b"\xff"
    else:
        tag = struct.pack(">I", 8 + len(label)) + b"free" + label
    part = out.with_name(f".{out.name}.part")
    part.write_bytes(base.read_bytes() + tag)
    part.rename(out)


_BLOCK_COLOURS = [(220, 30, 30), (30, 180, 60), (30, 60, 220), (235, 220, 40), (200, 40, 200), (40, 200, 210)]


def png_bytes(index: int) -> bytes:
    """A 320x240 PNG of 2-6 colour blocks chosen from `index`, with `index` written in its first pixels."""
    import numpy as np
    from PIL import Image

    rng = random.Random(index)
    w, h = IMAGE_SIZE
    cols, rows = rng.randint(1, 3), rng.randint(1, 2)
    pixels = np.zeros((h, w, 3), dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            pixels[r * h // rows : (r + 1) * h // rows, c * w // cols : (c + 1) * w // cols] = rng.choice(
                _BLOCK_COLOURS
            )
    pixels[0, :4] = [[(index >> (8 * b)) & 0xFF] * 3 for b in range(4)]  # the number, in pixel values
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, "PNG", compress_level=6)
    return out.getvalue()


def tiny_png(index: int) -> bytes:
    """A distinct 8x8 grey PNG (about 100 bytes): its first four pixels hold `index`. Built by hand
    (zlib + CRCs), microseconds an object, for listings of 100,000."""
    rows = []
    for y in range(8):
        row = bytearray(8)
        if y == 0:
            row[:4] = index.to_bytes(4, "little")
        rows.append(b"\x00" + bytes(row))  # filter type 0 per scanline

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)  # 8x8, 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _make(cache: Path, index: int, long_videos: bool) -> None:
    out = cache / "objects" / object_name(index, long_videos=long_videos)
    if out.exists():
        return
    kind = kind_of(index, long_videos=long_videos)
    if kind is Kind.IMAGE:
        part = out.with_name(f".{out.name}.part")
        part.write_bytes(png_bytes(index))
        part.rename(out)
    else:
        _copy_with_tag(_base(cache, kind, _variant(index)), out, index)


def scale_cache(cache_dir: Path) -> Path:
    return cache_dir / f"scale-v{SCALE_SAMPLES_VERSION}"


def generate_scale_night(
    count: int, cache_dir: Path, *, long_videos: bool = True, workers: int | None = None
) -> ScaleNight:
    """Make (or reuse from `cache_dir`) the first `count` objects; return the night. Without
    `long_videos` the long video's places hold what the 20-object cycle puts there (quick tests)."""
    cache = scale_cache(cache_dir)
    night = ScaleNight(cache / "objects", count, long_videos)
    night.root.mkdir(parents=True, exist_ok=True)
    # Base files first, one each (threads would race to make the same one).
    for kind in (Kind.CLIP, Kind.AUDIO, Kind.LONG):
        used = {_variant(i) for i in range(count) if kind_of(i, long_videos=long_videos) is kind}
        for variant in sorted(used):
            _base(cache, kind, variant)
    todo: Iterable[int] = (i for i, path in enumerate(night.paths) if not path.exists())
    # Pillow's encoder drops the GIL and the copies are file I/O: threads are enough.
    with ThreadPoolExecutor(max_workers=workers or 2 * (os.cpu_count() or 1)) as pool:
        for _ in pool.map(lambda i: _make(cache, i, long_videos), todo):
            pass
    return night
