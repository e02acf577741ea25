"""Pictures that Pillow decodes: stills (HEIF/HEIC via pillow-heif, AVIF, BigTIFF, CMYK, 16-bit, ...)
and animations (GIF, APNG, animated WebP).

ffmpeg 5.1 reads neither HEIC stills nor animated WebP nor BigTIFF, and its GIF/APNG demuxers have
their own frame-delay conventions; Pillow reads all of them. So for content Pillow knows, Pillow is
the decoder of both the probe and the preparation, and the two agree on size, orientation and timeline.

Hostile files: the size is read from the header and refused over MAX_IMAGE_PIXELS BEFORE any pixel is
decoded; Pillow's own guards (Image.MAX_IMAGE_PIXELS, PngImagePlugin.MAX_TEXT_CHUNK) stay in force and
are translated here; an animation may not make us decode more than MAX_ANIMATION_PIXELS in total.
Only the formats in PILLOW_FORMATS are ever opened (no EPS, which would run Ghostscript on the input).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import CorruptMediaError, MediaError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MAX_IMAGE_PIXELS = 100_000_000  # decompression-bomb guard (width x height of one picture)
MAX_ANIMATION_FRAMES = 3_000  # 100 s at 30 fps: longer "images" are videos, export them as one
MAX_ANIMATION_PIXELS = 2_000_000_000  # frames x width x height decoded to read an animation
ANIMATED_FORMATS = {"GIF", "PNG", "WEBP"}  # multi-frame TIFF/HEIF/MPO are pages or bursts: the first counts
PILLOW_FORMATS = [
    "PNG",
    "JPEG",
    "GIF",
    "WEBP",
    "TIFF",
    "BMP",
    "DIB",
    "HEIF",
    "AVIF",
    "JPEG2000",
    "PPM",
    "ICO",
    "QOI",
]
# Browsers (and ffmpeg's gif demuxer) show a frame whose delay is under 20 ms for 100 ms.
MIN_FRAME_MS, DEFAULT_FRAME_MS = 20.0, 100.0
# Frames are alike when a 64x64 thumbnail differs from the first frame's by less than this mean
# absolute difference (0-255 scale): dithering noise and re-encoding do not make a picture move.
ALIKE_MEAN_DIFF = 2.0
NEUTRAL_GREY = (128, 128, 128)  # what transparency is flattened onto: neither white nor black content


@dataclass(frozen=True)
class StillInfo:
    """What Pillow read of a picture (size as stored, before orientation)."""

    format: str  # Pillow's name: PNG, JPEG, HEIF, AVIF, TIFF, WEBP, GIF, ...
    width: int
    height: int
    orientation: int  # EXIF 1-8
    frames: int  # 1 for a still
    duration_s: float | None  # an animation's length on its own timeline
    moving: bool  # an animation whose frames are not all alike

    @property
    def animated(self) -> bool:
        return self.frames > 1


@cache
def register_heif() -> None:
    """HEIF/HEIC through pillow-heif (AVIF is Pillow's own); once per process."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _undecodable(name: str, exc: Exception, source: str | None) -> CorruptMediaError:
    return CorruptMediaError(
        f"{name}: Pillow cannot decode it ({exc}); re-export the image", reason="undecodable", source=source
    )


@contextmanager
def _translated(name: str, source: str | None) -> Iterator[None]:
    """Pillow's refusals -> the error tree (UnidentifiedImageError is the caller's, it means 'not mine')."""
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except UnidentifiedImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise MediaError(f"{name}: {exc}; resize the image", reason="image_too_large", source=source) from exc
    except ValueError as exc:
        if "too large" in str(exc).lower():  # PngImagePlugin.MAX_TEXT_CHUNK and the like
            raise MediaError(
                f"{name}: a compressed chunk inflates beyond safe limits ({exc}); this looks like a "
                "decompression bomb, re-export the image without the oversized metadata",
                reason="decompression_bomb",
                source=source,
            ) from exc
        raise _undecodable(name, exc, source) from exc
    except (OSError, SyntaxError, EOFError) as exc:
        raise _undecodable(name, exc, source) from exc


def _check_size(im: PILImage, name: str, source: str | None) -> None:
    width, height = im.size
    if width <= 0 or height <= 0:
        raise CorruptMediaError(
            f"{name}: the picture has no size ({width}x{height}); re-export the image",
            reason="zero_dimensions",
            source=source,
        )
    if width * height > MAX_IMAGE_PIXELS:
        raise MediaError(
            f"{name}: the image header claims {width}x{height} pixels (over {MAX_IMAGE_PIXELS // 1_000_000} "
            "MP, a decompression-bomb guard); resize it below that or fix the file",
            reason="image_too_large",
            source=source,
        )


@contextmanager
def open_image(path: Path, name: str, source: str | None = None) -> Iterator[PILImage]:
    """Pillow's image of `path`, its header size checked, nothing decoded yet. Raises
    UnidentifiedImageError when Pillow does not know the content, MediaError when it refuses it."""
    from PIL import Image

    register_heif()
    with _translated(name, source):
        with warnings.catch_warnings():
            # Pillow warns from 89 MP on; what is accepted is decided by MAX_IMAGE_PIXELS below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path, formats=PILLOW_FORMATS)
        with im:
            _check_size(im, name, source)
            yield im


def frame_ms(duration: object) -> float:
    """How long a frame is shown, by the browsers' rule for missing or tiny delays."""
    try:
        ms = float(duration)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_FRAME_MS
    return ms if ms >= MIN_FRAME_MS else DEFAULT_FRAME_MS


def _fingerprint(frame: PILImage) -> PILImage:
    return flatten(frame).resize((64, 64))


def _differs(a: PILImage, b: PILImage) -> bool:
    from PIL import ImageChops, ImageStat

    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3 >= ALIKE_MEAN_DIFF


def _animation(im: PILImage, name: str, source: str | None) -> tuple[int, float, bool]:
    """Frames, length (s) and whether it moves; decodes every frame (which also proves they decode)."""
    from PIL import ImageSequence

    frames = int(getattr(im, "n_frames", 1))
    width, height = im.size
    if frames > MAX_ANIMATION_FRAMES or frames * width * height > MAX_ANIMATION_PIXELS:
        raise MediaError(
            f"{name}: an animation of {frames} frames of {width}x{height} is over the limit of "
            f"{MAX_ANIMATION_FRAMES} frames / {MAX_ANIMATION_PIXELS // 1_000_000} MP decoded; export it as "
            "a video",
            reason="animation_too_large",
            source=source,
        )
    total_ms, first, moving = 0.0, None, False
    for frame in ImageSequence.Iterator(im):
        frame.load()  # WebP sets a frame's duration when it decodes it
        total_ms += frame_ms(frame.info.get("duration"))
        if not moving:
            print_ = _fingerprint(frame)
            if first is None:
                first = print_
            else:
                moving = _differs(first, print_)
    return frames, total_ms / 1000.0, moving


def read_still(path: Path, name: str, source: str | None = None) -> StillInfo | None:
    """What Pillow reads of `path`, or None when Pillow does not know the content. A still is read
    from its header only (verify_still decodes it); an animation is decoded frame by frame."""
    from PIL import UnidentifiedImageError

    try:
        with open_image(path, name, source) as im:
            fmt = str(im.format or "").upper()
            orientation = int(im.getexif().get(0x0112, 1) or 1)
            frames, duration, moving = 1, None, False
            if fmt in ANIMATED_FORMATS and int(getattr(im, "n_frames", 1)) > 1:
                with _translated(name, source):
                    frames, duration, moving = _animation(im, name, source)
            return StillInfo(fmt, im.width, im.height, orientation, frames, duration, moving)
    except UnidentifiedImageError:
        return None


def verify_still(path: Path, name: str, source: str | None = None) -> None:
    """Decode the (first) picture completely, so Pillow's refusals show up before planning."""
    with open_image(path, name, source) as im, _translated(name, source):
        im.load()


def flatten(im: PILImage) -> PILImage:
    """Any Pillow mode -> 8-bit RGB: 16/32-bit grey scaled to 8 bits, CMYK and palettes converted,
    transparency composited on neutral grey."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype("uint8"), "L")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info
    ):
        rgba = im.convert("RGBA")
        grey = Image.new("RGBA", rgba.size, (*NEUTRAL_GREY, 255))
        return Image.alpha_composite(grey, rgba).convert("RGB")
    return im.convert("RGB")


def save_jpeg(path: Path, max_px: int, out: Path, quality: int, name: str) -> None:
    """The first picture of `path`, upright (EXIF orientation), within max_px x max_px, as a JPEG that
    carries pixels only (no EXIF, ICC or comment: no GPS, make, model)."""
    from PIL import Image, ImageOps

    with open_image(path, name) as im, _translated(name, None):
        im.draft("RGB", (max_px, max_px))  # JPEG: decode at a reduced scale when it is large
        im.seek(0)
        upright = ImageOps.exif_transpose(im)
        upright.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
        flatten(upright).save(out, "JPEG", quality=quality, optimize=True)


def save_animation(path: Path, size: tuple[int, int], out_dir: Path, name: str) -> Path:
    """Every frame of an animation at `size`, flattened to RGB, as PNG files in `out_dir` plus an ffmpeg
    concat list with each frame's time; returns the list. One intermediate that ffmpeg 5.1 decodes for
    every animated format (it cannot decode animated WebP), on the timeline read_still measured. Frames
    go to disk one by one (memory stays at one frame); a frame equal to the one before only lengthens it."""
    from PIL import Image, ImageChops, ImageOps, ImageSequence

    entries: list[tuple[str, float]] = []
    previous: PILImage | None = None
    with open_image(path, name) as im, _translated(name, None):
        for frame in ImageSequence.Iterator(im):
            frame.load()
            ms = frame_ms(frame.info.get("duration"))
            picture = flatten(ImageOps.exif_transpose(frame)).resize(size, Image.Resampling.LANCZOS)
            if previous is not None and ImageChops.difference(previous, picture).getbbox() is None:
                entries[-1] = (entries[-1][0], entries[-1][1] + ms)
                continue
            file = f"frame_{len(entries):05d}.png"
            picture.save(out_dir / file, "PNG", compress_level=1)  # a scratch file: speed over size
            entries.append((file, ms))
            previous = picture
    lines = ["ffconcat version 1.0"]
    for file, ms in entries:
        lines += [f"file {file}", f"duration {ms / 1000.0:.6f}"]
    # the concat demuxer ignores the last entry's duration unless the file is listed once more
    lines.append(f"file {entries[-1][0]}")
    listing = out_dir / "frames.ffconcat"
    listing.write_text("\n".join(lines) + "\n")
    return listing
