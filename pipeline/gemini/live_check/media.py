"""Media the tokens check sends, made here so their token counts follow from known sizes: a PNG of
flat colours, a silent H.264 clip, the same clip with a sine tone (AAC, as the pipeline prepares
chunks) and a WAV. Durations are probed as the pipeline probes a source, so the catalog's rules are
applied to the same numbers the planner would use."""

from __future__ import annotations

import io
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from pipeline.media import probe

SECONDS = 10
IMAGE_SIZE = (1024, 768)  # two 768 px tiles wide on 2.x: the tiling rule is visible
VIDEO_SIZE = "320x240"
AUDIO_RATE = 16000  # the pipeline's prepared audio rate (Settings.audio_sample_rate)
FFMPEG_TIMEOUT_S = 60


@dataclass(frozen=True)
class Clip:
    label: str  # how the rows name it
    mime: str
    data: bytes = field(repr=False)
    duration_s: float = 0.0
    width: int = 0
    height: int = 0
    sound: bool = False

    @property
    def visual(self) -> bool:
        return self.mime.startswith(("image/", "video/"))


@dataclass(frozen=True)
class MediaSet:
    image: Clip
    video: Clip
    video_with_tone: Clip
    audio: Clip


def build_media(workdir: Path) -> MediaSet:
    """Make the four clips under `workdir` (ffmpeg for the videos)."""
    workdir.mkdir(parents=True, exist_ok=True)
    width, height = IMAGE_SIZE
    silent, toned = workdir / "silent.mp4", workdir / "tone.mp4"
    _video(silent, tone=False)
    _video(toned, tone=True)
    return MediaSet(
        image=Clip(f"image {width}x{height}", "image/png", _png(), width=width, height=height),
        video=_clip(silent, f"video {SECONDS} s {VIDEO_SIZE}"),
        video_with_tone=_clip(toned, f"video {SECONDS} s {VIDEO_SIZE} + tone", sound=True),
        audio=Clip(f"audio {SECONDS} s WAV", "audio/wav", _wav(), duration_s=float(SECONDS), sound=True),
    )


def _png() -> bytes:
    """Four flat quadrants: nothing to compress away that a real photo would have, same token rules."""
    width, height = IMAGE_SIZE
    image = Image.new("RGB", IMAGE_SIZE, (200, 40, 40))
    for box, colour in (
        ((width // 2, 0, width, height // 2), (40, 160, 60)),
        ((0, height // 2, width // 2, height), (40, 60, 200)),
        ((width // 2, height // 2, width, height), (230, 210, 50)),
    ):
        image.paste(colour, box)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(b"\x00\x10" * (SECONDS * AUDIO_RATE))
    return buf.getvalue()


def _video(path: Path, *, tone: bool) -> None:
    argv = [
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"color=c=0x3050a0:s={VIDEO_SIZE}:r=25:d={SECONDS}",
    ]
    if tone:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={AUDIO_RATE}:duration={SECONDS}"]
        argv += ["-c:a", "aac", "-ac", "1", "-ar", str(AUDIO_RATE)]
    argv += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-t", str(SECONDS), str(path)]
    subprocess.run(argv, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S)


def _clip(path: Path, label: str, *, sound: bool = False) -> Clip:
    probed = probe(path, profile=False)
    return Clip(
        label,
        "video/mp4",
        path.read_bytes(),
        duration_s=float(probed.duration_s or SECONDS),
        width=probed.width or 0,
        height=probed.height or 0,
        sound=sound and probed.has_audio,
    )
