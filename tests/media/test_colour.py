"""The colour facts of a video stream and the filters that bring it to SDR BT.709 (issue 13 part 5)."""

from __future__ import annotations

import pytest

from pipeline.media.colour import bit_depth, dynamic_range, to_sdr_filters
from pipeline.media.probe import _sar, _stream_info
from pipeline.models import StreamInfo


@pytest.mark.parametrize(
    ("pix_fmt", "bits"),
    [("yuv420p", 8), ("yuv420p10le", 10), ("yuv422p12be", 12), ("p010le", 10), ("nv12", 8), (None, None)],
)
def test_bit_depth(pix_fmt: str | None, bits: int | None) -> None:
    assert bit_depth(pix_fmt) == bits


def _video(**colour: str) -> StreamInfo:
    return StreamInfo(index=0, codec_type="video", **colour)  # type: ignore[arg-type]


def test_only_hdr_transfers_are_tone_mapped_and_untagged_sdr_keeps_its_chain() -> None:
    pq = _video(color_transfer="smpte2084", color_primaries="bt2020")
    hlg = _video(color_transfer="arib-std-b67", color_primaries="bt2020")
    wide = _video(color_transfer="bt2020-10", color_primaries="bt2020")
    assert (dynamic_range(pq), dynamic_range(hlg), dynamic_range(wide)) == ("pq", "hlg", "sdr")
    assert "tonemap=" in to_sdr_filters(pq) and "tonemap=" in to_sdr_filters(hlg)
    assert "tonemap" not in to_sdr_filters(wide) and "p=bt709" in to_sdr_filters(wide)
    for sdr in (_video(), _video(color_transfer="bt709", color_primaries="bt709")):
        assert dynamic_range(sdr) == "sdr" and to_sdr_filters(sdr) == ""


def test_probe_reads_colour_tags_and_treats_unknown_as_untagged() -> None:
    info = _stream_info(
        {"index": 0, "codec_type": "video", "pix_fmt": "yuv420p10le", "color_transfer": "smpte2084",
         "color_primaries": "bt2020", "color_space": "bt2020nc", "sample_aspect_ratio": "64:45"}
    )  # fmt: skip
    assert (info.color_transfer, info.color_primaries, info.color_space, info.bit_depth) == (
        "smpte2084",
        "bt2020",
        "bt2020nc",
        10,
    )
    assert info.sample_aspect_ratio == pytest.approx(64 / 45)
    bare = _stream_info({"index": 1, "codec_type": "video", "color_transfer": "unknown"})
    assert bare.color_transfer is None and bare.bit_depth is None and bare.sample_aspect_ratio == 1.0


@pytest.mark.parametrize("value", [None, "N/A", "0:1", "1:0", "1:1", "1000:1", "garbage"])
def test_a_missing_or_absurd_sample_aspect_ratio_counts_as_square(value: str | None) -> None:
    assert _sar(value) == 1.0  # a lying header never widens the plan 1000 times
