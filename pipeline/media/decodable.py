"""Check that a probed file's data really decodes, and measure the part that does.

Headers can parse while the data is gone or starts late; what decodes decides what is answered:

    the head     the chosen stream's first frame, looked for over the first HEAD_WINDOW_S: a recording
                 that starts between keyframes (a TS cut mid-GOP) has no picture until its first
                 keyframe, which may be seconds in. That time is kept (ProbeResult.picture_start_s).
    the tail     a frame in the last TAIL_WINDOW_S, and packets reaching the claimed end (within
                 TRUNCATED_SLACK_S). When no frame decodes there, where the data end is searched
                 (below); when one does but the packets stop short, the last frame decoded is the end
                 (a file cut within its last seconds). A truncated file is answered up to its end when
                 at least MIN_DECODABLE_S of it decodes (ProbeResult.duration_s becomes the decodable
                 end, claimed_duration_s keeps the container's claim); below that it is refused with
                 reason 'truncated'.

Times are on the source's timeline as ffmpeg counts it when it prepares the chunks (see _Sampler), the
one the chunk plan and every span use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import CorruptMediaError
from pipeline.media.ffmpeg import Failure, FFmpeg, Input, default_ffmpeg
from pipeline.media.still import verify_still
from pipeline.models import MediaType, ProbeResult

TAIL_WINDOW_S = 5.0  # the last seconds of a stream must yield a frame
# How far into a stream its first decodable frame may be: a broadcast or camera GOP is 0.5-5 s, so a
# recording cut just after a keyframe has its next one within this.
HEAD_WINDOW_S = 10.0
# Data ending this much before the claimed end is a truncated file (whole files end within 0.04 s of
# their claim in every fixture; a cut one misses what it lost).
TRUNCATED_SLACK_S = 0.5
MIN_DECODABLE_S = 1.0  # a truncated file is answered when at least this much of it decodes
END_PRECISION_S = 0.1  # the decodable end of a truncated file is found to within this
# A picture starting later than this is recorded as starting late (and black before it); earlier is
# one frame period of a slow stream (a TS's video often starts a frame after its sound).
LATE_PICTURE_S = 0.1


def _undecodable(says: str, fix: str, reason: str = "undecodable") -> Failure:
    return Failure(reason, "decode_timeout", says, fix, lines=2, slow="decoding a sample")


@dataclass(frozen=True)
class _Sampler:
    """Decodes a few frames of one stream from a time on, answering when the first one is.

    `streams` is the chosen stream first, then the other one preparation decodes with it (a video's
    sound): ffmpeg counts an input's times from the earliest start of the streams it maps, so mapping
    the same ones as preparation puts the answer on the timeline the chunks use. Measured on a TS cut
    mid-GOP (sound from 1.459 s, first video packet 1.600 s, first keyframe 3.480 s): its picture starts
    at 2.02 s with the sound mapped, 1.88 s without. (-copyts would give the container's own clock, but
    then -ss no longer drops the frames before the seek point and -t stops nothing.)"""

    runner: FFmpeg
    path: Path
    streams: tuple[int, ...]
    name: str
    source: str | None

    def first_frame(
        self, failure: Failure, *, start: float = 0.0, window: float | None = None, frames: int = 1
    ) -> float | None:
        """Time of the chosen stream's first frame at or after `start` (within `window` s of it), None
        when none decodes. Raises `failure` when ffmpeg fails outright, its timeout reason when slow."""
        options = ("-ss", f"{start:.3f}") if start > 0 else ()
        args = [arg for index in self.streams for arg in ("-map", f"0:{index}")]
        if window is not None:
            args += ["-t", f"{window:.3f}"]
        args += ["-dn", "-sn", "-frames", str(frames), "-f", "framecrc", "-"]
        done = self.runner.run(
            [Input.file(self.path, *options)], args, name=self.name, failure=failure, source=self.source
        )
        found = _first_pts(done.stdout.decode("utf-8", "replace"))
        return None if found is None else start + found

    def last_end(self, failure: Failure, start: float, *, decode: bool = True) -> float | None:
        """Where the last frame (decode=True) or packet (decode=False: demuxed only, with the durations
        the container gives them) of any mapped stream from `start` on ends, None when there is none
        or ffmpeg fails outright (a timeout is raised). One pass over what follows `start`.

        A decoded frame's end is its pts plus one tick of the output's time base, not the time the
        container shows it for: v_h264_vfr_3026x1386_noaudio.mp4's last frame starts at 7.16 s and is
        shown until 8.73 s, which only the packets say."""
        options = ("-ss", f"{start:.3f}") if start > 0 else ()
        args = [arg for index in self.streams for arg in ("-map", f"0:{index}")]
        args += ["-dn", "-sn", *(() if decode else ("-c", "copy")), "-f", "framecrc", "-"]
        try:
            done = self.runner.run(
                [Input.file(self.path, *options)], args, name=self.name, failure=failure, source=self.source
            )
        except CorruptMediaError as exc:
            if exc.reason != failure.reason:
                raise
            return None
        found = _last_end(done.stdout.decode("utf-8", "replace"))
        return None if found is None else start + found

    def decodes_from(self, failure: Failure, start: float) -> float | None:
        """first_frame, with an ffmpeg failure read as "nothing decodes there" (the data is gone)."""
        try:
            return self.first_frame(failure, start=start)
        except CorruptMediaError as exc:
            if exc.reason != failure.reason:  # a timeout is not an answer
                raise
            return None


def _first_pts(framecrc: str) -> float | None:
    """Time of output stream 0's first frame in framecrc output ("#tb 0: 1/25", then lines
    "stream, dts, pts, duration, size, crc"); None when it has none."""
    num, den = 1, 1
    for line in framecrc.splitlines():
        if line.startswith("#tb 0:"):
            n, _, d = line.split(":", 1)[1].strip().partition("/")
            num, den = int(n), int(d or 1)
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            if len(fields) > 2 and fields[0] == "0" and fields[2].lstrip("-").isdigit():
                return max(0.0, int(fields[2]) * num / den)
    return None


def _last_end(framecrc: str) -> float | None:
    """Latest frame end (pts + duration, each stream in its own time base) in framecrc output; None
    when it has no frame."""
    bases: dict[str, float] = {}
    end: float | None = None
    for line in framecrc.splitlines():
        if line.startswith("#tb "):
            stream, _, base = line[4:].partition(":")
            n, _, d = base.strip().partition("/")
            bases[stream.strip()] = int(n) / int(d or 1)
        elif line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            if len(fields) > 3 and fields[0] in bases and fields[2].lstrip("-").isdigit():
                frame_end = (int(fields[2]) + max(0, int(fields[3] or 0))) * bases[fields[0]]
                end = frame_end if end is None else max(end, frame_end)
    return None if end is None else max(0.0, end)


def decodable_end(sampler: _Sampler, failure: Failure, lo: float, hi: float) -> float:
    """Where the data of a stream stops decoding, given a frame decodes at `lo` and none after `hi`.

    Bisection by seek-and-decode: about log2((hi - lo) / END_PRECISION_S) short decodes, whatever the
    codec and the length. Measured on a 600 s 720p H.264 file cut at half its bytes: 14 seeks in 2.6 s,
    against 13 s for one decode of everything (-f null, reporting the last pts), which preparation then
    decodes a second time, and 1.0 s for a keyframes-only pass (-skip_frame nokey), which grows with the
    length and is a full decode for all-intra codecs (MJPEG, ProRes) and audio. A truncated file's data
    is a prefix, so "a frame decodes at or after t" is true up to its end and false after it."""
    while hi - lo > END_PRECISION_S:
        mid = (lo + hi) / 2
        found = sampler.decodes_from(failure, mid)
        if found is None or found >= hi:
            hi = mid
        else:
            lo = max(mid, found)
    return round(hi, 3)


def verify_decodable(
    path: str | Path, probe: ProbeResult, *, source: str | None = None, runner: FFmpeg | None = None
) -> ProbeResult:
    """Decode a little of the head AND the tail of the chosen stream; returns the probe with what really
    decodes (a truncated file's decodable duration, a late first picture), or raises CorruptMediaError.

    x_truncated_100000B.mp4 claims 35 s, decodes ~6 frames (0.5 s) and then runs out of data, so a
    head-only check passes it; a frame near the claimed end catches truncation at the cost of one seek,
    and a demux of the last seconds (no decode) one cut within them (a 20 s file whose bytes stop at
    17.5 s still has frames after its 15 s)."""
    path = Path(path).resolve()
    name = source or path.name
    stream = probe.video_stream if probe.video_stream is not None else probe.audio_stream
    if stream is None:
        raise CorruptMediaError(
            f"{name}: nothing to decode; re-export the file", reason="no_media_streams", source=source
        )
    if probe.decoder == "pillow":
        # an animation was decoded frame by frame when it was probed; a still is decoded here
        if probe.animation is None:
            verify_still(path, name, source)
        return probe
    companion = probe.audio_stream if stream == probe.video_stream else None
    streams = (stream,) if companion is None else (stream, companion)
    sampler = _Sampler(runner or default_ffmpeg(), path, streams, name, source)
    if probe.media_type is MediaType.IMAGE:
        picture = _undecodable("the picture does not decode", "re-export the image")
        if sampler.first_frame(picture) is None:
            raise picture.error(name, "no frame decoded", source=source)
        return probe
    duration = probe.duration_s or 0.0
    window = min(HEAD_WINDOW_S, duration) or None
    head = _undecodable(f"nothing decodes in its first {window or duration:.1f} s", "re-export the file")
    first = sampler.first_frame(head, window=window)
    if first is None:
        raise head.error(name, "no frame decoded", source=source)
    found = probe.model_copy()
    if probe.media_type is MediaType.VIDEO and first > LATE_PICTURE_S:
        found.picture_start_s = round(first, 3)
    if duration <= TAIL_WINDOW_S:
        return found
    # a window, not a point: a VFR stream's last frame can sit well before the end
    # (v_h264_vfr_3026x1386_noaudio.mp4: last frame at 7.16 s of 8.73 s, shown for 1.57 s)
    tail_start = duration - TAIL_WINDOW_S
    tail = _undecodable(
        "its last seconds do not decode", "the file is truncated, upload it again", "truncated"
    )
    if sampler.decodes_from(tail, tail_start) is None:
        end = decodable_end(sampler, tail, first, tail_start)
    else:
        # something decodes in the last seconds; do the data reach the claimed end? (the packets'
        # own durations: a VFR stream's last frame may be shown for seconds)
        data_end = sampler.last_end(tail, tail_start, decode=False)
        if data_end is None or data_end >= duration - TRUNCATED_SLACK_S:
            return found
        decoded = sampler.last_end(tail, tail_start)  # the last frames' data may not decode
        end = round(min(data_end, decoded if decoded is not None else data_end), 3)
    if end - first < MIN_DECODABLE_S:
        raise CorruptMediaError(
            f"{name}: claims {duration:.1f} s but its data stops decoding at {end:.1f} s (under "
            f"{MIN_DECODABLE_S:g} s of it decodes); the file is truncated, upload it again",
            reason="truncated",
            source=source,
        )
    found.duration_s, found.claimed_duration_s = end, duration
    return found


def decode_warning(probe: ProbeResult, name: str) -> tuple[str, str] | None:
    """The warning (reason, message) an answered source carries for what did not decode, if any."""
    if probe.claimed_duration_s is None or probe.duration_s is None:
        return None
    return "truncated", (
        f"{name}: claims {probe.claimed_duration_s:.1f} s but its data stops decoding at "
        f"{probe.duration_s:.1f} s (truncated); answered up to there, upload the complete file to have "
        "the rest answered"
    )
