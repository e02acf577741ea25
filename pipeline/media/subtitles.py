"""Embedded subtitle / caption tracks as text: read once with ffmpeg, cut per chunk.

Text tracks (SRT/subrip, ASS/SSA, mov_text, WebVTT) are converted by ffmpeg to SRT on its stdout and
parsed here, on the timeline the chunks are cut on (ffmpeg starts both at the container's start time, so
a TS whose clock starts at 1.4 s has its cues where its chunks put them); styling (ASS override tags,
<i>/<font> markup) is dropped, the words stay. Bitmap tracks (PGS, DVD, DVB subtitles) are pictures of
text: counted (ProbeResult.tracks('subtitle')), never read, with a note saying so.

A chunk's text part (`chunk_context`) lists every cue that overlaps the chunk, so a cue crossing a chunk
boundary is in both, with its times in seconds from the start of the source. The same function feeds the
estimate (pipeline.plan) and the request (pipeline.infer.requests), so what is counted is what is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.media.ffmpeg import Failure, FFmpeg, Input, default_ffmpeg
from pipeline.models import ProbeResult

TEXT_CODECS = frozenset({"subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text"})
BITMAP_CODECS = frozenset({"hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle", "xsub", "dvb_teletext"})
HEADER = "Subtitles for this chunk (times in s from the start of the source):"
# A subtitle track is text, a few KB per hour: reading it means demuxing the file once, no decoding.
EXTRACT_MIN_TIMEOUT_S = 120.0
EXTRACT_TIMEOUT_PER_SOURCE_SECOND = 0.25
_EXTRACT = Failure(
    reason="subtitles_unreadable",
    timeout_reason="subtitles_timeout",
    says="ffmpeg cannot read its subtitle track",
    fix="re-export the file with a text subtitle track (SRT, ASS, mov_text or WebVTT)",
)
_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})")
_MARKUP = re.compile(r"<[^>]*>|\{[^}]*\}")


@dataclass(frozen=True)
class Cue:
    """One subtitle cue on the source's timeline (seconds)."""

    start_s: float
    end_s: float
    text: str


def is_text_subtitle(codec_name: str | None) -> bool:
    return codec_name in TEXT_CODECS


def bitmap_note(probe: ProbeResult, name: str) -> str | None:
    """What the row says of bitmap subtitle tracks (counted, not read); None when there are none."""
    codecs = sorted({s.codec_name or "?" for s in probe.streams if s.codec_type == "subtitle"} - TEXT_CODECS)
    if not codecs:
        return None
    return (
        f"{name}: its bitmap subtitle track(s) ({', '.join(codecs)}) are pictures of text and are not "
        "sent; add a text subtitle track (SRT, ASS, mov_text or WebVTT) to have the subtitles read"
    )


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(text: str) -> list[Cue]:
    """Cues of an SRT document (as ffmpeg writes it), markup removed, empty cues dropped."""
    cues: list[Cue] = []
    for block in re.split(r"\r?\n\s*\r?\n", text.strip()):
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            found = _TIME.search(line)
            if found is None:
                continue
            g = found.groups()
            words = " ".join(_MARKUP.sub("", x).strip() for x in lines[i + 1 :])
            words = " ".join(words.replace("\\N", " ").replace("\\n", " ").split())
            if words:
                cues.append(Cue(_seconds(*g[:4]), _seconds(*g[4:]), words))
            break
    return sorted(cues, key=lambda c: (c.start_s, c.end_s))


def extract_cues(
    path: str | Path, probe: ProbeResult, *, source: str | None = None, runner: FFmpeg | None = None
) -> list[Cue]:
    """The cues of the probe's text subtitle track ([] when it has none): one ffmpeg pass, no decoding.
    Raises CorruptMediaError when ffmpeg cannot read the track."""
    if probe.subtitle_stream is None:
        return []
    path = Path(path).resolve()  # absolute: a name starting with '-' can never look like an option
    runner = runner or default_ffmpeg()
    done = runner.run(
        [Input.file(path)],
        ["-map", f"0:{probe.subtitle_stream}", "-c:s", "srt", "-f", "srt", "pipe:1"],
        name=source or path.name,
        failure=_EXTRACT,
        timeout=max(EXTRACT_MIN_TIMEOUT_S, (probe.duration_s or 0.0) * EXTRACT_TIMEOUT_PER_SOURCE_SECOND),
        source=source,
    )
    return parse_srt(done.stdout.decode("utf-8", "replace"))


def chunk_context(cues: list[Cue], start_s: float, end_s: float) -> str:
    """The text part of a chunk [start_s, end_s): every cue overlapping it, "" when none does."""
    lines = [
        f"[{c.start_s:.2f}-{c.end_s:.2f}] {c.text}" for c in cues if c.end_s > start_s and c.start_s < end_s
    ]
    return "\n".join([HEADER, *lines]) if lines else ""
