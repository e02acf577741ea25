"""Files with more than one track, made with ffmpeg: two sound tracks (the second flagged default, at
another pitch), subtitle tracks of every text kind (SRT, ASS, mov_text, WebVTT). Sound is PCM, so no
encoder priming shifts the container's timeline (the cue times below are the source's)."""

from __future__ import annotations

import subprocess
from pathlib import Path

SRT = """1
00:00:00,500 --> 00:00:01,500
Hello <i>world</i>

2
00:00:03,000 --> 00:00:04,000
Across the boundary

3
00:00:05,000 --> 00:00:05,500
Only at the end
"""

ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\b1}Styled line{\\b0}\\Nsecond half
Dialogue: 0,0:00:02.75,0:00:03.25,Default,,0,0,0,,Crossing cue
"""

VTT = """WEBVTT

00:00.500 --> 00:01.250
Web line one

00:01.500 --> 00:01.900
Web <b>two</b>
"""


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", *args], check=True)


def two_sounds_and_subtitles(path: Path, seconds: float = 6.0) -> Path:
    """MKV: 64x48 red picture, sound 0 at 440 Hz (not default), sound 1 at 1000 Hz (default), an SRT
    track (not default) and an ASS track (default)."""
    srt, ass = path.with_suffix(".srt"), path.with_suffix(".ass")
    srt.write_text(SRT)
    ass.write_text(ASS)
    _ffmpeg(
        *("-f", "lavfi", "-i", f"color=c=red:s=64x48:d={seconds}:r=10"),
        *("-f", "lavfi", "-i", f"sine=f=440:d={seconds}:r=16000"),
        *("-f", "lavfi", "-i", f"sine=f=1000:d={seconds}:r=16000"),
        *("-i", str(srt), "-i", str(ass)),
        *("-map", "0", "-map", "1", "-map", "2", "-map", "3", "-map", "4"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", "-c:s:0", "srt", "-c:s:1", "ass"),
        *("-disposition:a:0", "0", "-disposition:a:1", "default"),
        *("-disposition:s:0", "0", "-disposition:s:1", "default"),
        str(path),
    )
    return path


def mov_text_mp4(path: Path, seconds: float = 6.0) -> Path:
    """MP4: picture and a mov_text track made from the SRT cues."""
    srt = path.with_suffix(".srt")
    srt.write_text(SRT)
    _ffmpeg(
        *("-f", "lavfi", "-i", f"color=c=blue:s=64x48:d={seconds}:r=10", "-i", str(srt)),
        *("-map", "0", "-map", "1", "-c:v", "libx264", "-preset", "ultrafast", "-c:s", "mov_text"),
        str(path),
    )
    return path


def webvtt_mkv(path: Path, seconds: float = 3.0) -> Path:
    """MKV: picture and a WebVTT track."""
    vtt = path.with_suffix(".vtt")
    vtt.write_text(VTT)
    _ffmpeg(
        *("-f", "lavfi", "-i", f"color=c=green:s=64x48:d={seconds}:r=10", "-i", str(vtt)),
        *("-map", "0", "-map", "1", "-c:v", "libx264", "-preset", "ultrafast", "-c:s", "webvtt"),
        str(path),
    )
    return path
