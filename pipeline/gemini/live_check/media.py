"""Media the tokens check sends, made here so their token counts follow from known sizes: a PNG of
flat colours, a silent H.264 clip, the same clip with a sine tone (AAC, as the pipeline prepares
chunks) and a WAV. Durations are probed as the pipeline probes a source, so the catalog's rules are
applied to the same numbers the planner would use."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from pipeline.errors import ConfigError, MediaError
from pipeline.media import probe
from pipeline.media.ffmpeg import Failure, FFmpeg, Input, default_ffmpeg

SECONDS = 10
IMAGE_SIZE = (1024, 768)  # two 768 px tiles wide on 2.x: the tiling rule is visible
VIDEO_SIZE = "320x240"
AUDIO_RATE = 16000  # the pipeline's prepared audio rate (Settings.audio_sample_rate)
_MAKE_CLIP = Failure(
    "clip_failed",
    "clip_timeout",
    "ffmpeg cannot make the clip",
    "install an ffmpeg built with libx264 and aac (apt-get install ffmpeg)",
    lines=2,
)


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


def build_media(workdir: Path, *, runner: FFmpeg | None = None) -> MediaSet:
    """Make the four clips under `workdir` (ffmpeg for the videos).

    Raises ConfigError: ffmpeg is missing, or cannot make an H.264/AAC clip from a test pattern (our
    own input, so the installation is at fault, not a file)."""
    workdir.mkdir(parents=True, exist_ok=True)
    runner = runner or default_ffmpeg()
    width, height = IMAGE_SIZE
    silent, toned = workdir / "silent.mp4", workdir / "tone.mp4"
    try:
        _video(runner, silent, tone=False)
        _video(runner, toned, tone=True)
        video = _clip(runner, silent, f"video {SECONDS} s {VIDEO_SIZE}")
        video_with_tone = _clip(runner, toned, f"video {SECONDS} s {VIDEO_SIZE} + tone", sound=True)
    except MediaError as exc:
        raise ConfigError(f"the tokens check's clips: {exc}") from exc
    return MediaSet(
        image=Clip(f"image {width}x{height}", "image/png", _png(), width=width, height=height),
        video=video,
        video_with_tone=video_with_tone,
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


def _video(runner: FFmpeg, path: Path, *, tone: bool) -> None:
    inputs = [Input.lavfi(f"color=c=0x3050a0:s={VIDEO_SIZE}:r=25:d={SECONDS}")]
    args: list[str] = []
    if tone:
        inputs.append(Input.lavfi(f"sine=frequency=440:sample_rate={AUDIO_RATE}:duration={SECONDS}"))
        args += ["-c:a", "aac", "-ac", "1", "-ar", str(AUDIO_RATE)]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-t", str(SECONDS), str(path.resolve())]
    runner.run(inputs, args, name=path.name, failure=_MAKE_CLIP)


def _clip(runner: FFmpeg, path: Path, label: str, *, sound: bool = False) -> Clip:
    probed = probe(path, profile=False, runner=runner)
    return Clip(
        label,
        "video/mp4",
        path.read_bytes(),
        duration_s=float(probed.duration_s or SECONDS),
        width=probed.width or 0,
        height=probed.height or 0,
        sound=sound and probed.has_audio,
    )
