"""What a video's colours are (SDR BT.709, PQ or HLG HDR, wide gamut) and the ffmpeg filters that bring
an HDR or wide-gamut picture to SDR BT.709 8-bit, so the model does not see washed-out colours.

Only the stream's own tags decide (ffprobe's color_transfer / color_primaries): an untagged stream is
SDR, as players treat it.
"""

from __future__ import annotations

import re

from pipeline.models import StreamInfo

PQ_TRANSFER = "smpte2084"
HLG_TRANSFER = "arib-std-b67"
WIDE_PRIMARIES = "bt2020"

# HDR -> SDR BT.709, as zimg (zscale) and ffmpeg 5.1's tonemap filter accept it. tonemap works on linear
# float RGB only, so: to linear light (npl=100: 100 nits is SDR white), to planar float RGB, to BT.709
# primaries while still linear, tone-map, then BT.709 transfer, matrix and TV range, 8-bit 4:2:0.
# mobius, not hable: measured on a clip made from an SDR picture graded with its white at 203 nits (the
# BT.2408 reference white of PQ and HLG), the tone-mapped mean luma is 118 against 123 for the SDR
# original with mobius, 99 with hable (hable's shoulder darkens mid-tones) and 150 with a clipping peak
# of 1; mobius keeps in-range values and bends only the highlights. desat=0: no grey-out of bright
# colours, which the model should see as they are.
_TONE_MAP = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
    "tonemap=mobius:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)
# Wide gamut with an SDR transfer (BT.2020 10-bit SDR): only the primaries and matrix change.
_GAMUT = "zscale=p=bt709:t=bt709:m=bt709:r=tv,format=yuv420p"
_DEPTH = re.compile(r"p(\d+)(?:le|be)?$")


def bit_depth(pix_fmt: str | None) -> int | None:
    """Bits per component of an ffmpeg pixel format ('yuv420p10le' -> 10, 'yuv420p' -> 8)."""
    if not pix_fmt:
        return None
    found = _DEPTH.search(pix_fmt)
    return int(found.group(1)) if found else 8


def dynamic_range(stream: StreamInfo) -> str:
    """'pq' or 'hlg' for an HDR stream, 'sdr' for everything else (untagged included)."""
    if stream.color_transfer == PQ_TRANSFER:
        return "pq"
    if stream.color_transfer == HLG_TRANSFER:
        return "hlg"
    return "sdr"


def to_sdr_filters(stream: StreamInfo) -> str:
    """The filters (ending in a comma) that bring the stream to SDR BT.709 8-bit, or '' when it already
    is SDR with BT.709-or-untagged primaries (its filter chain stays exactly what it was)."""
    if dynamic_range(stream) != "sdr":
        return _TONE_MAP + ","
    if stream.color_primaries == WIDE_PRIMARIES:
        return _GAMUT + ","
    return ""
