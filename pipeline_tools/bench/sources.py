"""Generated benchmark sources, cached by their parameters (generating 10 min of 1080p30 takes minutes)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SINE_RATE = 48_000


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(tempfile.gettempdir(), "cache")
    return Path(base) / "gemini-media-pipeline-bench"


@dataclass(frozen=True)
class SourceSpec:
    """A testsrc2 picture + 440 Hz sine, H.264 with a fixed GOP (keyframe every `gop` frames)."""

    duration_s: float = 600.0
    width: int = 1920
    height: int = 1080
    fps: int = 30
    gop: int = 60

    @property
    def name(self) -> str:
        return f"testsrc2_{self.width}x{self.height}_{self.fps}fps_g{self.gop}_{self.duration_s:g}s.mp4"


def _lavfi_inputs(width: int, height: int, fps: int) -> list[str]:
    return [
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={fps}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate={SINE_RATE}",
    ]


def _make(out: Path, args: list[str]) -> Path:
    """Write to a temporary name, then rename: an interrupted run never leaves a half file cached."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.stem}.part{out.suffix}")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", *args, str(part)]
    subprocess.run(cmd, check=True)
    part.rename(out)
    return out


def h264_source(spec: SourceSpec, cache_dir: Path) -> Path:
    return _make(
        cache_dir / spec.name,
        [
            *_lavfi_inputs(spec.width, spec.height, spec.fps),
            "-t",
            f"{spec.duration_s:.3f}",
            "-c:v",
            "libx264",
            "-preset",
            "superfast",
            "-g",
            str(spec.gop),
            "-keyint_min",
            str(spec.gop),
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
        ],
    )


def big_source(target_bytes: int, cache_dir: Path, *, size: tuple[int, int] = (1920, 1080)) -> Path:
    """A source of about `target_bytes`: uncompressed 1080p30 video (3.1 MB a frame) + PCM audio in
    Matroska. Raw frames are the quickest way to a large file, and the hardest case for buffering: every
    packet is a whole picture."""
    fps = 30
    width, height = size
    frame_bytes = width * height * 3 // 2
    frames = max(fps, target_bytes // frame_bytes)
    name = f"raw_{width}x{height}_{frames}f.mkv"
    return _make(
        cache_dir / name,
        [
            *_lavfi_inputs(width, height, fps),
            "-frames:v",
            str(frames),
            "-t",
            f"{frames / fps:.3f}",
            "-c:v",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "pcm_s16le",
        ],
    )


def cut_copy(src: Path, seconds: float, out: Path) -> Path:
    """The first `seconds` of src, streams copied (full resolution, original audio)."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(src), "-t", f"{seconds:.3f}"]
    subprocess.run([*cmd, "-map", "0", "-c", "copy", str(out)], check=True)
    return out
