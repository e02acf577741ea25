"""A cheap look at a video before planning: how far apart its keyframes are (may preparation decode
keyframes only?) and how much its picture changes (is it slides / a screen recording?).

Both read far less than a full decode: keyframe spacing comes from packet flags (no decoding) over the
first KEYFRAME_WINDOW_S; motion from keyframes only, scaled to a 64x36 grey thumbnail, compared pairwise
with numpy. Sources whose keyframes are too sparse to sample the picture often enough (long GOPs, common
in screen recordings) or too dense (all-intra codecs, where "keyframes only" is a full decode) are
sampled by a fully decoded but time-bounded window instead. Any trouble just means "unknown" (None):
a profile never fails a source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import MediaError
from pipeline.media.ffmpeg import Failure, FFmpeg, Input, default_ffmpeg

KEYFRAME_WINDOW_S = 30.0
PROFILE_TIMEOUT_S = 120.0
# Reason codes no row ever shows: a failed profile is caught here and reads "unknown".
_PROFILE = Failure("profile_failed", "profile_timeout", "cannot profile the video", "nothing to do")
THUMB_W, THUMB_H = 64, 36
# A pair of samples "changed" when over CHANGED_PIXEL_SHARE of the thumbnail moved by > PIXEL_DELTA grey
# levels: a moving mouse pointer or a typed word stays under it, a cut, a pan or a slide change does not.
PIXEL_DELTA = 16
CHANGED_PIXEL_SHARE = 0.02
MIN_PAIRS = 3
# Keyframes-only sampling is used when keyframes are 0.5-4 s apart, over at most the first 2 minutes
# (30-240 samples, as many pairs as the decoded window gives and more); otherwise one frame every
# SAMPLE_STEP_S of a fully decoded window of WINDOW_S. Decoding 1080p keyframes costs ~12 ms each here:
# over 10 minutes (300 at a 2 s GOP) the profile was 7% of a full decode of the file, a seventh of the
# whole preparation's 1.15x budget, for a motion share that 2 minutes already measures.
KEY_SAMPLE_MIN_S, KEY_SAMPLE_MAX_S = 0.5, 4.0
KEY_SAMPLE_WINDOW_S = 120.0
SAMPLE_STEP_S = 2.0
DECODED_WINDOW_S = 60.0


@dataclass(frozen=True)
class VideoProfile:
    keyframe_interval_s: float | None
    motion: float | None  # share of consecutive samples that changed, 0 (still) .. 1 (always moving)
    samples: int = 0


def keyframe_interval(path: Path, stream: int, duration: float, runner: FFmpeg) -> float | None:
    """Longest gap between keyframes (or from the last one to the window's end) over the first
    KEYFRAME_WINDOW_S, from packet flags: nothing is decoded."""
    window = min(KEYFRAME_WINDOW_S, duration)
    args = [
        "-select_streams",
        str(stream),
        "-read_intervals",
        f"%+{window + 1:.3f}",
        "-show_entries",
        "packet=pts_time,dts_time,flags",
    ]
    try:
        data = runner.probe_json(
            Input.file(path), args, name=path.name, failure=_PROFILE, timeout=PROFILE_TIMEOUT_S
        )
    except MediaError:
        return None
    packets = data.get("packets") or []
    times = []
    for p in packets:
        if "K" not in str(p.get("flags", "")):
            continue
        t = p.get("pts_time", p.get("dts_time"))
        try:
            times.append(float(t))
        except (TypeError, ValueError):
            continue
    times = sorted(t for t in times if t < window + 1e-3)
    if not times:
        return None
    first = times[0]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    gaps.append(max(0.0, first + window - times[-1]))
    return round(max(gaps), 3)


def _thumbnails(
    runner: FFmpeg, path: Path, stream: int, *, keyframes_only: bool, window: float
) -> list[bytes]:
    options = ("-skip_frame", "nokey") if keyframes_only else ()
    args = ["-map", f"0:{stream}", "-an", "-sn", "-dn", "-t", f"{window:.3f}"]
    step = (
        "" if keyframes_only else f"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,{SAMPLE_STEP_S})',"
    )
    args += [
        "-vf",
        f"{step}scale={THUMB_W}:{THUMB_H}:flags=fast_bilinear,format=gray",
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-",
    ]
    try:
        done = runner.run(
            [Input.file(path, *options)], args, name=path.name, failure=_PROFILE, timeout=PROFILE_TIMEOUT_S
        )
    except MediaError:
        return []
    size = THUMB_W * THUMB_H
    data = done.stdout
    return [data[i : i + size] for i in range(0, len(data) - size + 1, size)]


def motion_share(frames: list[bytes]) -> float | None:
    """Share of consecutive thumbnails that differ visibly (None under MIN_PAIRS pairs)."""
    import numpy as np

    if len(frames) < MIN_PAIRS + 1:
        return None
    arr = np.stack([np.frombuffer(f, dtype=np.uint8) for f in frames]).astype(np.int16)
    moved = (np.abs(np.diff(arr, axis=0)) > PIXEL_DELTA).mean(axis=1)
    return round(float((moved > CHANGED_PIXEL_SHARE).mean()), 4)


def profile_video(
    path: str | Path, stream: int, duration: float, *, runner: FFmpeg | None = None
) -> VideoProfile:
    path = Path(path)
    runner = runner or default_ffmpeg()
    interval = keyframe_interval(path, stream, duration, runner)
    keyframes_only = interval is not None and KEY_SAMPLE_MIN_S <= interval <= KEY_SAMPLE_MAX_S
    window = KEY_SAMPLE_WINDOW_S if keyframes_only else DECODED_WINDOW_S
    frames = _thumbnails(
        runner, path, stream, keyframes_only=keyframes_only, window=min(window, duration + 1)
    )
    return VideoProfile(keyframe_interval_s=interval, motion=motion_share(frames), samples=len(frames))
