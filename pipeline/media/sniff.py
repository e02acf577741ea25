"""Content sniffing: what a file is, from its first bytes (magic numbers), never from its name.

`sniff` is cheap and runs on the head of an S3 object (discover reads a small range), so it decides
only the broad type and a MIME; `probe` (ffprobe) has the last word, e.g. an MP4 holding only audio
sniffs as video here and probes as audio.
"""

from __future__ import annotations

from pipeline.models import MediaType

# How many bytes callers should read; every check below also works (less surely for MPEG-TS) on 64.
SNIFF_BYTES = 1024

_FTYP_VIDEO = {
    "isom",
    "iso2",
    "iso4",
    "iso5",
    "iso6",
    "mp41",
    "mp42",
    "avc1",
    "m4v ",
    "m4vh",
    "m4vp",
    "qt  ",
    "3gp4",
    "3gp5",
    "3gp6",
    "3g2a",
    "mmp4",
    "dash",
    "f4v ",
    "mqt ",
    "msnv",
    "ndas",
    "xavc",
}
_FTYP_AUDIO = {"m4a ", "m4b ", "m4p ", "f4a ", "f4b "}
_FTYP_HEIC = {"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"}
_FTYP_AVIF = {"avif", "avis"}

_TS_PACKET = 188


def _ftyp(head: bytes) -> tuple[MediaType, str | None] | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    major = head[8:12].decode("latin-1").lower()
    end = min(len(head), size if size >= 16 else 16)
    compatible = [head[i : i + 4].decode("latin-1").lower() for i in range(16, end - 3, 4)]

    def kind(brand: str) -> tuple[MediaType, str] | None:
        if brand in _FTYP_AVIF:
            return MediaType.IMAGE, "image/avif"
        if brand in _FTYP_HEIC:
            return MediaType.IMAGE, "image/heic"
        if brand in _FTYP_AUDIO:
            return MediaType.AUDIO, "audio/mp4"
        if brand.startswith("qt"):
            return MediaType.VIDEO, "video/quicktime"
        if brand.startswith("3g2"):
            return MediaType.VIDEO, "video/3gpp2"
        if brand.startswith("3gp"):
            return MediaType.VIDEO, "video/3gpp"
        if brand in _FTYP_VIDEO:
            return MediaType.VIDEO, "video/mp4"
        return None

    found = kind(major)
    if found is None:
        # An unknown major brand: decide by the compatible brands, image brands first (an AVIF or
        # HEIF file lists 'mif1' there), then the ISO base brands.
        for brand in compatible:
            found = kind(brand)
            if found is not None:
                break
    # Any other well-formed ftyp box is still ISO-BMFF; let ffprobe decide what is inside.
    return found or (MediaType.VIDEO, "video/mp4")


def _ebml(head: bytes) -> tuple[MediaType, str | None] | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    if b"webm" in head[:64]:
        return MediaType.VIDEO, "video/webm"
    return MediaType.VIDEO, "video/x-matroska"


def _mpeg_ts(head: bytes) -> tuple[MediaType, str | None] | None:
    for offset, stride in ((0, _TS_PACKET), (4, 192)):  # plain TS, and M2TS/.mts with 4-byte timecodes
        if len(head) > offset + stride:
            if all(head[i] == 0x47 for i in range(offset, len(head), stride)):
                return MediaType.VIDEO, "video/mp2t"
        elif len(head) > offset and head[offset] == 0x47 and offset == 0 and len(head) >= 4:
            # Too short to see a second sync byte: accept a plausible first TS header (PID 0 = PAT).
            if (head[1] & 0x1F) == 0 and head[2] == 0x00:
                return MediaType.VIDEO, "video/mp2t"
    return None


def _riff(head: bytes) -> tuple[MediaType, str | None] | None:
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX"):
        return None
    form = head[8:12]
    if form == b"WAVE":
        return MediaType.AUDIO, "audio/wav"
    if form == b"WEBP":
        return MediaType.IMAGE, "image/webp"
    if form == b"AVI ":
        return MediaType.VIDEO, "video/x-msvideo"
    return None


def _ogg(head: bytes) -> tuple[MediaType, str | None] | None:
    if not head.startswith(b"OggS"):
        return None
    if b"OpusHead" in head:
        return MediaType.AUDIO, "audio/ogg"
    if b"\x01vorbis" in head or b"FLAC" in head or b"Speex" in head:
        return MediaType.AUDIO, "audio/ogg"
    if b"theora" in head:
        return MediaType.VIDEO, "video/ogg"
    return MediaType.AUDIO, "audio/ogg"  # Ogg is audio far more often; probe decides


def _mp3_frame(head: bytes) -> bool:
    if len(head) < 4 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate = head[2] >> 4
    rate = (head[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def _adts(head: bytes) -> bool:
    # 12-bit sync 0xFFF, layer bits 00, sampling index valid
    return len(head) >= 7 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0 and ((head[2] >> 2) & 0xF) < 13


_SIMPLE: list[tuple[bytes, int, MediaType, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, MediaType.IMAGE, "image/png"),
    (b"\xff\xd8\xff", 0, MediaType.IMAGE, "image/jpeg"),
    (b"GIF87a", 0, MediaType.IMAGE, "image/gif"),
    (b"GIF89a", 0, MediaType.IMAGE, "image/gif"),
    (b"II*\x00", 0, MediaType.IMAGE, "image/tiff"),
    (b"MM\x00*", 0, MediaType.IMAGE, "image/tiff"),
    (b"II+\x00", 0, MediaType.IMAGE, "image/tiff"),  # BigTIFF (64-bit offsets)
    (b"MM\x00+", 0, MediaType.IMAGE, "image/tiff"),
    (b"fLaC", 0, MediaType.AUDIO, "audio/flac"),
    (b"ID3", 0, MediaType.AUDIO, "audio/mpeg"),
    (b"\x00\x00\x01\xba", 0, MediaType.VIDEO, "video/mpeg"),  # MPEG program stream pack header
    (b"\x00\x00\x01\xb3", 0, MediaType.VIDEO, "video/mpeg"),  # MPEG-1/2 video sequence header
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", 0, MediaType.VIDEO, "video/x-ms-asf"),
    (b"FLV\x01", 0, MediaType.VIDEO, "video/x-flv"),
    (b"#!AMR", 0, MediaType.AUDIO, "audio/amr"),
]


def _bmp(head: bytes) -> bool:
    # 'BM', then a DIB header size we know (12, 40, 52, 56, 64, 108, 124): plain 'BM' text is not a BMP
    return (
        len(head) >= 18
        and head[:2] == b"BM"
        and int.from_bytes(head[14:18], "little")
        in (
            12,
            16,
            40,
            52,
            56,
            64,
            108,
            124,
        )
    )


def _aiff(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC")


def sniff(head: bytes) -> tuple[MediaType, str | None]:
    """Media type and MIME type of a file from its first bytes (read `SNIFF_BYTES`; ~64 is enough for
    all but MPEG-TS). Unknown content (text, JSON, an m3u8 playlist, ...) -> (UNKNOWN, None)."""
    for check in (_ftyp, _ebml, _riff, _ogg, _mpeg_ts):
        found = check(head)
        if found is not None:
            return found
    for magic, offset, media_type, mime in _SIMPLE:
        if head[offset : offset + len(magic)] == magic:
            return media_type, mime
    if _bmp(head):
        return MediaType.IMAGE, "image/bmp"
    if _aiff(head):
        return MediaType.AUDIO, "audio/aiff"
    if _adts(head):
        return MediaType.AUDIO, "audio/aac"
    if _mp3_frame(head):
        return MediaType.AUDIO, "audio/mpeg"
    return MediaType.UNKNOWN, None


def looks_like_text(head: bytes) -> bool:
    """True when the head is plain text (UTF-8/ASCII, a BOM allowed): JSON, a playlist, notes."""
    if not head:
        return True
    sample = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a multi-byte char cut at the end of the head is fine
            return False
        text = sample[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    return printable >= 0.95 * max(1, len(text))
