"""Decode the media bytes a request carries into simple facts (OFFLINE TEST DOUBLE, no real model).

Video: per-frame mean colour at the requested frame rate -> scene spans named after the nearest colour of
a small palette. Audio (a file or a video's track): RMS per 0.25 s window -> loud / silent spans. Image:
size and dominant colours. The facts are deterministic, so end-to-end tests can check answers against
the ground truth of generated media.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import ffmpeg
import numpy as np
from PIL import Image

from .wire import Json

FRAME_W, FRAME_H = 32, 18
SCENE_CUT_DISTANCE = 60.0  # RGB euclidean distance between consecutive sampled frames
AUDIO_RATE = 8000
AUDIO_WINDOW_S = 0.25
LOUD_DBFS = -35.0
MIN_SPAN_S = 0.5

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 160, 40),
    "blue": (30, 40, 220),
    "yellow": (240, 230, 40),
    "cyan": (40, 220, 230),
    "magenta": (220, 40, 220),
    "white": (245, 245, 245),
    "black": (10, 10, 10),
    "grey": (128, 128, 128),
    "orange": (250, 150, 30),
    "purple": (128, 30, 128),
    "brown": (130, 80, 30),
    "pink": (250, 170, 190),
}


class MediaDecodeError(Exception):
    """The bytes do not decode as the declared media type."""


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float
    label: str
    description: str


@dataclass(frozen=True)
class MediaFacts:
    """What the emulator 'saw' in one part."""

    kind: str  # video | audio | image | text | document
    mime_type: str
    duration_s: float = 0.0
    width: int = 0
    height: int = 0
    has_audio: bool = False
    has_video: bool = False
    frames_decoded: int = 0
    colours: tuple[str, ...] = ()
    scenes: tuple[Span, ...] = ()
    audio_spans: tuple[Span, ...] = ()
    text: str = ""
    pages: int = 0
    extra: Json = field(default_factory=dict, compare=False, hash=False)

    @property
    def spans(self) -> list[Span]:
        return sorted([*self.scenes, *self.audio_spans], key=lambda s: (s.start_s, s.label))


def colour_name(rgb: np.ndarray | tuple[float, float, float]) -> str:
    v = np.asarray(rgb, dtype=float)
    return min(PALETTE, key=lambda n: float(np.sum((v - np.asarray(PALETTE[n], dtype=float)) ** 2)))


_cache: OrderedDict[tuple[str, str, float], MediaFacts] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 64


def analyse(data: bytes, mime_type: str, fps: float = 1.0) -> MediaFacts:
    """Facts for one inline part; cached by content hash (count_tokens then generate costs one decode)."""
    kind = mime_type.split("/", 1)[0]
    key = (hashlib.sha256(data).hexdigest(), mime_type, round(fps, 6))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if mime_type in ("text/plain", "application/json"):
        facts = MediaFacts(kind="text", mime_type=mime_type, text=data.decode("utf-8", errors="replace"))
    elif mime_type == "application/pdf":
        if not data.startswith(b"%PDF"):
            raise MediaDecodeError("The document has no pages.")
        pages = max(1, data.count(b"/Type /Page") - data.count(b"/Type /Pages"))
        facts = MediaFacts(kind="document", mime_type=mime_type, pages=pages)
    elif kind == "image":
        facts = _analyse_image(data, mime_type)
    elif kind in ("video", "audio"):
        facts = _analyse_av(data, mime_type, fps, kind)
    else:
        raise MediaDecodeError(f"Unsupported MIME type: {mime_type}")
    with _cache_lock:
        _cache[key] = facts
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return facts


def _analyse_image(data: bytes, mime_type: str) -> MediaFacts:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # pillow raises many types for bad bytes
        raise MediaDecodeError(f"Unable to process input image: {exc}") from exc
    width, height = img.size
    small = img.convert("RGB")
    small.thumbnail((128, 128))
    quant = small.quantize(colors=3)
    pal = quant.getpalette() or []
    # a palette image's pixels are palette indexes (single-band values, typed as float by pillow)
    counts = sorted(
        ((count, int(index)) for count, index in quant.getcolors() or [] if isinstance(index, int | float)),
        reverse=True,
    )
    names: list[str] = []
    for _count, idx in counts:
        name = colour_name(np.asarray(pal[idx * 3 : idx * 3 + 3], dtype=float))
        if name not in names:
            names.append(name)
    return MediaFacts(kind="image", mime_type=mime_type, width=width, height=height, colours=tuple(names))


def _analyse_av(data: bytes, mime_type: str, fps: float, kind: str) -> MediaFacts:
    fd, path = tempfile.mkstemp(prefix="gemini-emu-", suffix=".media")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            info = ffmpeg.probe(path)
        except ffmpeg.Error as exc:
            raise MediaDecodeError(f"Unable to process input {kind}: ffprobe could not read it") from exc
        streams = info.get("streams", [])
        video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover(s)), None)
        audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
        duration = _duration(info)
        if kind == "video" and video is None:
            raise MediaDecodeError("Unable to process input video: no video stream")
        if kind == "audio" and audio is None:
            raise MediaDecodeError("Unable to process input audio: no audio stream")
        scenes: tuple[Span, ...] = ()
        colours: tuple[str, ...] = ()
        frames = 0
        width = height = 0
        if kind == "video" and video is not None:
            width, height = int(video.get("width") or 0), int(video.get("height") or 0)
            means = _frame_means(path, fps)
            frames = len(means)
            scenes = _scenes(means, fps, duration)
            colours = tuple(dict.fromkeys(s.label.removeprefix("scene: ") for s in scenes))
        audio_spans, decoded_s = _audio_spans(path, duration) if audio is not None else ((), 0.0)
        if kind == "audio" and decoded_s > 0:
            # what decodes is what is billed: a container's duration may count an encoder's priming
            # samples (Opus pre-skip: 6.5 ms), which no listener hears
            duration = decoded_s
        return MediaFacts(
            kind=kind,
            mime_type=mime_type,
            duration_s=duration,
            width=width,
            height=height,
            has_audio=audio is not None,
            has_video=video is not None,
            frames_decoded=frames,
            colours=colours,
            scenes=scenes,
            audio_spans=audio_spans,
        )
    finally:
        os.unlink(path)


def _is_cover(stream: Json) -> bool:
    return bool((stream.get("disposition") or {}).get("attached_pic"))


def _duration(info: Json) -> float:
    fmt = info.get("format", {})
    for value in [fmt.get("duration"), *(s.get("duration") for s in info.get("streams", []))]:
        try:
            if value is not None and float(value) > 0:
                return float(value)
        except ValueError:
            continue
    return 0.0


def _frame_means(path: str, fps: float) -> np.ndarray:
    frame_bytes = FRAME_W * FRAME_H * 3
    out = _decode_frames(path, fps)
    if len(out) < frame_bytes:  # a clip shorter than one sampling interval: the API still sees one frame
        out = _decode_frames(path, None)
    n = len(out) // frame_bytes
    if n == 0:
        raise MediaDecodeError("Unable to process input video: no frames decoded")
    arr = np.frombuffer(out[: n * frame_bytes], dtype=np.uint8).reshape(n, FRAME_H * FRAME_W, 3)
    means: np.ndarray = arr.astype(np.float64).mean(axis=1)
    return means


def _decode_frames(path: str, fps: float | None) -> bytes:
    stream = ffmpeg.input(path).video
    if fps is not None:
        stream = stream.filter("fps", fps=fps)
    stream = stream.filter("scale", FRAME_W, FRAME_H)
    kwargs = {} if fps is not None else {"frames:v": 1}
    try:
        out, _ = stream.output("pipe:", format="rawvideo", pix_fmt="rgb24", **kwargs).run(
            capture_stdout=True, capture_stderr=True, quiet=True
        )
    except ffmpeg.Error as exc:
        raise MediaDecodeError("Unable to process input video: frames could not be decoded") from exc
    return bytes(out)


def _scenes(means: np.ndarray, fps: float, duration: float) -> tuple[Span, ...]:
    """Cut where consecutive sampled frames differ; the cut is at the first frame of the new scene."""
    bounds = [0]
    for i in range(1, len(means)):
        if float(np.linalg.norm(means[i] - means[i - 1])) > SCENE_CUT_DISTANCE:
            bounds.append(i)
    end_time = duration if duration > 0 else len(means) / fps
    spans = []
    for k, first in enumerate(bounds):
        last = bounds[k + 1] if k + 1 < len(bounds) else len(means)
        start = round(first / fps, 3)
        end = round(min(last / fps, end_time), 3) if k + 1 < len(bounds) else round(end_time, 3)
        colour = colour_name(means[first:last].mean(axis=0))
        spans.append(
            Span(start, end, f"scene: {colour}", f"A mostly {colour} scene from {start:g} s to {end:g} s.")
        )
    return tuple(spans)


def _audio_spans(path: str, duration: float) -> tuple[tuple[Span, ...], float]:
    """Loud and silent spans of the decoded sound, and how many seconds of it decode."""
    try:
        out, _ = (
            ffmpeg.input(path)
            .audio.output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=AUDIO_RATE)
            .run(capture_stdout=True, capture_stderr=True, quiet=True)
        )
    except ffmpeg.Error as exc:
        raise MediaDecodeError("Unable to process input audio: samples could not be decoded") from exc
    samples = np.frombuffer(out[: len(out) // 2 * 2], dtype="<i2").astype(np.float64) / 32768.0
    win = int(AUDIO_RATE * AUDIO_WINDOW_S)
    decoded_s = len(samples) / AUDIO_RATE
    n = len(samples) // win + (1 if len(samples) % win else 0)
    if n == 0:
        return (), decoded_s
    padded = np.zeros(n * win)
    padded[: len(samples)] = samples
    rms = np.sqrt((padded.reshape(n, win) ** 2).mean(axis=1))
    loud = 20 * np.log10(np.maximum(rms, 1e-10)) > LOUD_DBFS
    runs = _runs([bool(x) for x in loud])
    runs = _drop_blips(runs, int(round(MIN_SPAN_S / AUDIO_WINDOW_S)))
    end_time = duration if duration > 0 else len(samples) / AUDIO_RATE
    spans = []
    for k, (value, first, count) in enumerate(runs):
        start = round(first * AUDIO_WINDOW_S, 3)
        end = round(end_time, 3) if k == len(runs) - 1 else round((first + count) * AUDIO_WINDOW_S, 3)
        label = "audio: loud" if value else "audio: silent"
        what = "sound" if value else "silence"
        spans.append(Span(start, end, label, f"Continuous {what} from {start:g} s to {end:g} s."))
    return tuple(spans), decoded_s


def _runs(values: list[bool]) -> list[tuple[bool, int, int]]:
    runs: list[tuple[bool, int, int]] = []
    for i, v in enumerate(values):
        if runs and runs[-1][0] == v:
            runs[-1] = (v, runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((v, i, 1))
    return runs


def _drop_blips(runs: list[tuple[bool, int, int]], min_windows: int) -> list[tuple[bool, int, int]]:
    """Fold runs shorter than min_windows into their neighbours, then merge equal neighbours."""
    changed = True
    while changed and len(runs) > 1:
        changed = False
        for i, (_value, _first, count) in enumerate(runs):
            if count < min_windows:
                runs = [*runs[:i], (not runs[i][0], runs[i][1], count), *runs[i + 1 :]]
                merged: list[tuple[bool, int, int]] = []
                for v, f, c in runs:
                    if merged and merged[-1][0] == v:
                        merged[-1] = (v, merged[-1][1], merged[-1][2] + c)
                    else:
                        merged.append((v, f, c))
                runs = merged
                changed = True
                break
    return runs
