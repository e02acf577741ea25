from __future__ import annotations

import pytest

from pipeline.media import SNIFF_BYTES, sniff
from pipeline.media.sniff import looks_like_text
from pipeline.models import MediaType
from tests.media_helpers import FIXTURES

V, A, IMG, U = MediaType.VIDEO, MediaType.AUDIO, MediaType.IMAGE, MediaType.UNKNOWN

EXPECTED = {
    "a_aac51_two_tracks.mp4": (V, "video/mp4"),  # isom brand: probe finds it is audio-only
    "a_flac_stereo.flac": (A, "audio/flac"),
    "a_mp3_coverart_badframes.mp3": (A, "audio/mpeg"),
    "a_opus_mono.opus": (A, "audio/ogg"),
    "a_pcm_s16le_stereo_notags.wav": (A, "audio/wav"),
    "i_avif_2048x858.avif": (IMG, "image/avif"),
    "i_gif_animated.gif": (IMG, "image/gif"),
    "i_heic_sequence_msf1.heic": (IMG, "image/heic"),
    "i_jpeg_exif_orientation6.jpg": (IMG, "image/jpeg"),
    "i_png_16bit_gray_alpha.png": (IMG, "image/png"),
    "i_png_large_4160x870.png": (IMG, "image/png"),
    "i_webp_lossy.webp": (IMG, "image/webp"),
    "v_h264_aac_2subs.mkv": (V, "video/x-matroska"),
    "v_h264_ac3_1080i_interlaced.mts": (V, "video/mp2t"),
    "v_h264_rotate-90_bbb.mp4": (V, "video/mp4"),
    "v_h264_vfr_3026x1386_noaudio.mp4": (V, "video/mp4"),
    "v_vp8_vorbis_short.webm": (V, "video/webm"),
    "v_vp9_opus_320x180.webm": (V, "video/webm"),
    "x_bmp_claims_2GB.bmp": (IMG, "image/bmp"),  # the header is a BMP; probe refuses its size
    "x_corrupt_chunk.png": (IMG, "image/png"),
    "x_hls_media_playlist_missing_segments.m3u8": (U, None),
    "x_json_named.webp": (U, None),
    "x_png_zlib_text_bomb.png": (IMG, "image/png"),
    "x_truncated_100000B.mp4": (V, "video/mp4"),
}


def test_every_fixture_has_an_expectation():
    names = {p.name for p in FIXTURES.iterdir() if p.name != "SOURCES.md"}
    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_sniff(name):
    head = (FIXTURES / name).read_bytes()[:SNIFF_BYTES]
    assert sniff(head) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n != "v_h264_ac3_1080i_interlaced.mts"))
def test_first_64_bytes_are_enough(name):
    head = (FIXTURES / name).read_bytes()[:64]
    assert sniff(head)[0] == EXPECTED[name][0]


def _ftyp(major: bytes, *compat: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compat)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 16


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_ftyp(b"M4A ", b"isom"), (A, "audio/mp4")),
        (_ftyp(b"qt  "), (V, "video/quicktime")),
        (_ftyp(b"M4V "), (V, "video/mp4")),
        (_ftyp(b"heic", b"mif1"), (IMG, "image/heic")),
        (_ftyp(b"mif1", b"heic"), (IMG, "image/heic")),
        (_ftyp(b"avis", b"msf1"), (IMG, "image/avif")),
        (_ftyp(b"zzzz", b"avif", b"mif1"), (IMG, "image/avif")),
        (
            b"\x1a\x45\xdf\xa3\x01\x00\x00\x00\x00\x00\x00\x1f\x42\x86\x81\x01B\x82\x88matroska",
            (V, "video/x-matroska"),
        ),
        ((b"\x47\x40\x00\x10" + b"\xff" * 184) * 3, (V, "video/mp2t")),
        (b"\x00\x00\x01\xba\x44\x00\x04\x00", (V, "video/mpeg")),
        (b"RIFF\x00\x00\x00\x00AVI LIST", (V, "video/x-msvideo")),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", (A, "audio/wav")),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis", (A, "audio/ogg")),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", (A, "audio/mpeg")),
        (b"\xff\xfb\x90\x64" + b"\x00" * 20, (A, "audio/mpeg")),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", (A, "audio/aac")),
        (b"FORM\x00\x00\x00\x00AIFFCOMM", (A, "audio/aiff")),
        (b"GIF89a\x01\x00\x01\x00", (IMG, "image/gif")),
        (b"II*\x00\x08\x00\x00\x00", (IMG, "image/tiff")),
        (b"II+\x00\x08\x00\x00\x00", (IMG, "image/tiff")),  # BigTIFF
        (b"MM\x00+\x00\x08\x00\x00", (IMG, "image/tiff")),
        (b"BM" + b"\x00" * 12 + (40).to_bytes(4, "little") + b"\x00" * 8, (IMG, "image/bmp")),
    ],
)
def test_magic_numbers(head, expected):
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"hello world\n",
        b'{"a": 1}',
        b"#EXTM3U\n#EXT-X-VERSION:3\n",
        b"BM is not a bitmap here",
        b"<html></html>",
        b"\x00\x01\x02\x03" * 16,
    ],
)
def test_unknown(head):
    assert sniff(head) == (U, None)


def test_looks_like_text():
    assert looks_like_text(b"#EXTM3U\n")
    assert looks_like_text("caf\u00e9 ol\u00e9".encode()[:-1])  # a char cut at the end of the head
    assert not looks_like_text(b"\x89PNG\r\n\x1a\n")
