"""Files of the classes a real media lake holds, made by the tests themselves (Pillow, pillow-heif,
ffmpeg): phone photos, BigTIFF, animations, audio with cover art, and hostile headers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw

from pipeline.media.still import register_heif


def picture(size: tuple[int, int] = (160, 120), step: int = 0, mode: str = "RGB") -> Image.Image:
    """A flat background with a yellow square that moves `step` x 10 px to the right."""
    im = Image.new("RGB", size, (30, 90, 200))
    ImageDraw.Draw(im).rectangle((10 + step * 10, 10, 50 + step * 10, 50), fill=(255, 230, 0))
    return im.convert(mode)


def heic(path: Path, size: tuple[int, int] = (320, 240)) -> Path:
    register_heif()
    picture(size).save(path, "HEIF", quality=80)
    return path


def avif(path: Path, size: tuple[int, int] = (320, 240)) -> Path:
    picture(size).save(path, "AVIF")
    return path


def bigtiff(path: Path, size: tuple[int, int] = (300, 200)) -> Path:
    picture(size).save(path, "TIFF", big_tiff=True)
    return path


def animation(path: Path, fmt: str, durations: list[int], *, moving: bool = True) -> Path:
    """GIF / PNG (APNG) / WEBP with one frame per duration (ms). Still frames differ by one pixel
    (so no encoder merges them) and must still count as alike."""
    frames = []
    for i in range(len(durations)):
        im = picture(step=i if moving else 0)
        if not moving:
            im.putpixel((0, 0), (i, i, i))
        frames.append(im)
    lossless = {"lossless": True} if fmt == "WEBP" else {}  # lossy WebP would erase the one pixel
    frames[0].save(
        path,
        fmt,
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        optimize=False,
        **lossless,
    )
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def m4a_with_cover(path: Path, seconds: float = 3.0, *, flagged: bool = True, brand: str = "M4A ") -> Path:
    """AAC audio with a 300x300 JPEG cover: flagged attached_pic (iTunes covr), or as a one-frame
    MJPEG track, which is how some taggers store it."""
    disposition = ["-disposition:v:0", "attached_pic"] if flagged else []
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=f=440:d={seconds}",
        "-f", "lavfi", "-i", "color=c=red:s=300x300:d=1",
        "-map", "0:a", "-map", "1:v", "-frames:v", "1", "-c:a", "aac", "-c:v", "mjpeg",
        *disposition, "-f", "mp4", "-brand", brand, str(path),
    )  # fmt: skip
    return path


def audio_mp4(path: Path, seconds: float = 3.0, brand: str = "isom") -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", f"sine=f=440:d={seconds}", "-c:a", "aac", "-f", "mp4", "-brand", brand, str(path)
    )
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A real 8x8 PNG whose IHDR then claims width x height (the CRC is left stale, as attackers do)."""
    picture((8, 8)).save(path, "PNG")
    data = bytearray(path.read_bytes())
    data[16:20], data[20:24] = width.to_bytes(4, "big"), height.to_bytes(4, "big")
    path.write_bytes(bytes(data))
    return path


def tiff_claiming(path: Path, width: int, height: int) -> Path:
    """A real 8x8 uncompressed little-endian TIFF whose ImageWidth/ImageLength tags then claim more:
    the sniffer's header check does not parse TIFF, so only Pillow's header size stands in the way."""
    picture((8, 8)).save(path, "TIFF")
    data = bytearray(path.read_bytes())
    ifd = int.from_bytes(data[4:8], "little")
    for i in range(int.from_bytes(data[ifd : ifd + 2], "little")):
        entry = ifd + 2 + 12 * i
        tag, kind = (
            int.from_bytes(data[entry : entry + 2], "little"),
            int.from_bytes(data[entry + 2 : entry + 4], "little"),
        )
        if tag in (256, 257):
            value = width if tag == 256 else height
            size = 2 if kind == 3 else 4
            if value >= 1 << (8 * size):
                raise ValueError("the tag cannot hold that value")
            data[entry + 8 : entry + 8 + size] = value.to_bytes(size, "little")
    path.write_bytes(bytes(data))
    return path


def truncated_mp4(path: Path, share: float, seconds: float = 20.0) -> Path:
    """A `seconds` s H.264+AAC MP4 (index at the front, so it claims all of it) cut to its first `share`
    of bytes, as an interrupted upload or recording leaves it."""
    whole = path.with_name(f"whole-{path.name}")
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=25:d={seconds}", "-f", "lavfi", "-i", f"sine=d={seconds}",
        "-c:v", "libx264", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart",
        str(whole),
    )  # fmt: skip
    data = whole.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])
    whole.unlink()
    return path


def recording(path: Path, seconds: float = 20.0, gop: int = 50) -> Path:
    """A whole `seconds` s H.264 + AAC recording (160x120 testsrc2 at 25 fps, a sine), muxed as its suffix says
    (.mp4 with its index at the front, .mkv, .ts)."""
    faststart = ["-movflags", "+faststart"] if path.suffix == ".mp4" else []
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=160x120:r=25:d={seconds}", "-f", "lavfi", "-i", f"sine=d={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop), "-pix_fmt", "yuv420p", "-c:a", "aac",
        *faststart, str(path),
    )  # fmt: skip
    return path


def cut_recording(path: Path, at_s: float, seconds: float = 20.0) -> Path:
    """A `seconds` s recording (`recording`, muxed as `path`'s suffix says) whose bytes stop where its
    first packet at or after `at_s` (on the source's timeline) starts, as an interrupted recording or
    upload leaves it: the container still claims `seconds` (MP4, MKV; a TS claims nothing)."""
    whole = recording(path.with_name(f"whole-{path.name}"), seconds)
    out = subprocess.run(
        ["ffprobe", "-v", "quiet", "-show_entries", "format=start_time:packet=pts_time,pos", "-of", "json",
         str(whole)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    info = json.loads(out)
    start = float(info["format"].get("start_time") or 0.0)
    cut = min(
        int(p["pos"])
        for p in info["packets"]
        if "pos" in p and "pts_time" in p and float(p["pts_time"]) - start >= at_s
    )
    if path.suffix == ".ts":
        cut -= cut % TS_PACKET
    path.write_bytes(whole.read_bytes()[:cut])
    whole.unlink()
    return path


def decoded_end(path: Path) -> float:
    """Where a file's data really stop decoding, on its own timeline: the latest end of a frame of any
    stream, by decoding ALL of it with ffprobe (what the pipeline finds by seeking must agree)."""
    out = subprocess.run(
        ["ffprobe", "-v", "quiet", "-show_entries", "format=start_time:frame=pts_time,duration_time",
         "-of", "json", str(path)],
        check=False, capture_output=True, text=True,
    ).stdout  # fmt: skip
    info = json.loads(out)
    start = float(info.get("format", {}).get("start_time") or 0.0)
    ends = [
        float(f["pts_time"]) + float(f.get("duration_time") or 0.0)
        for f in info.get("frames", [])
        if "pts_time" in f
    ]
    return max(ends) - start


TS_PACKET = 188


def ts_cut_mid_gop(path: Path, seconds: float = 10.0, gop_s: float = 2.0) -> tuple[Path, float]:
    """A red H.264 + sine AAC MPEG-TS with a `gop_s` GOP, cut 60 TS packets in (inside the first GOP,
    as a broadcast or camera capture starts): its sound decodes from the start, its picture only from
    the next keyframe. Returns the file and that first picture's time on the source's timeline (its
    container's clock less the container's start time)."""
    whole = path.with_name(f"whole-{path.name}")
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=red:s=320x240:r=25:d={seconds}", "-f", "lavfi", "-i", f"sine=d={seconds}",
        "-c:v", "libx264", "-g", str(round(25 * gop_s)), "-keyint_min", str(round(25 * gop_s)),
        "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mpegts", str(whole),
    )  # fmt: skip
    path.write_bytes(whole.read_bytes()[60 * TS_PACKET :])
    whole.unlink()
    out = subprocess.run(
        ["ffprobe", "-v", "quiet", "-show_entries", "format=start_time", "-select_streams", "v",
         "-show_entries", "frame=pts_time", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    info = json.loads(out)
    return path, float(info["frames"][0]["pts_time"]) - float(info["format"]["start_time"])


def ts_with_hole(path: Path, before_s: float = 4.0, hole_s: float = 12.0, after_s: float = 4.0) -> Path:
    """An MPEG-TS capture that lost its signal: `before_s` s of red picture and a sine, nothing for
    `hole_s` s (its clock jumps; longer than the 10 s ffmpeg closes up by default), then `after_s` s of
    blue and the sine again. Two segments muxed apart, the second's clock `before_s + hole_s` s later,
    concatenated as bytes (a TS is a packet stream). On its timeline: red [0, before_s), the last red
    picture held and silence through the hole, blue from before_s + hole_s."""
    parts = []
    for i, (colour, seconds, offset) in enumerate(
        (("red", before_s, 0.0), ("blue", after_s, before_s + hole_s))
    ):
        part = path.with_name(f"part{i}-{path.name}")
        ffmpeg(
            "-f", "lavfi", "-i", f"color=c={colour}:s=160x120:r=25:d={seconds}",
            "-f", "lavfi", "-i", f"sine=f=440:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
            "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-output_ts_offset", f"{offset}",
            "-f", "mpegts", str(part),
        )  # fmt: skip
        parts.append(part)
    path.write_bytes(b"".join(p.read_bytes() for p in parts))
    for part in parts:
        part.unlink()
    return path


SDR_TAGS = ("-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv")


def sdr_clip(path: Path, seconds: float = 2.0, size: str = "320x240") -> Path:
    """testsrc2 (bars, gradients, a moving patch) as tagged SDR BT.709 8-bit H.264."""
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10:duration={seconds:g}",
        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", *SDR_TAGS, str(path),
    )  # fmt: skip
    return path


def hdr_clip(path: Path, transfer: str, seconds: float = 2.0) -> Path:
    """The same picture as sdr_clip, graded HDR as BT.2408 says (SDR white at 203 nits): 10-bit HEVC,
    BT.2020 primaries, PQ ('smpte2084') or HLG ('arib-std-b67'), tagged as such; with 'bt2020-10' a
    wide-gamut SDR clip (npl is ignored by SDR transfers)."""
    sdr = sdr_clip(path.with_name(path.stem + "-sdr.mp4"), seconds)
    ffmpeg(
        "-i", str(sdr),
        "-vf", f"zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt2020:t={transfer}:m=bt2020nc:r=tv:npl=203,"
        "format=yuv420p10le",
        "-c:v", "libx265", "-x265-params", "log-level=error", "-crf", "18",
        "-color_primaries", "bt2020", "-color_trc", transfer, "-colorspace", "bt2020nc", str(path),
    )  # fmt: skip
    sdr.unlink()
    return path


def anamorphic_clip(path: Path, seconds: float = 2.0) -> Path:
    """A PAL DVD-style 16:9 picture: 720x576 stored pixels, each 64:45 wide (shown as 1024x576), with a
    white circle that is round only when the pixels are shown at their shape."""
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=black:size=720x576:rate=10:duration={seconds:g}",
        # an ellipse 45 px wide per 64 px tall in stored pixels: a circle on screen
        "-vf", "geq=lum='255*lte(((X-360)/(200*45/64))^2+((Y-288)/200)^2\\,1)':cb=128:cr=128,setsar=64/45",
        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", str(path),
    )  # fmt: skip
    return path


def hdr_portrait_anamorphic(path: Path, transfer: str = "smpte2084", seconds: float = 2.0) -> Path:
    """A phone-style HDR clip that is also rotated and anamorphic: 240x180 stored pixels, each 4:3 wide
    (320x180 shown), with a display matrix turning it a quarter (`-metadata:s:v rotate=90` on a stream
    copy, which ffmpeg 5.1 writes as the matrix; it has no -display_rotation), 10-bit HEVC graded PQ
    (or HLG) from an SDR picture as hdr_clip is. The picture: a white circle of 60 px radius ON SCREEN
    at the centre (an ellipse of 45 x 60 stored pixels) and a yellow 30x30 stored-pixel square in the
    stored top-left corner."""
    inside = "lte(((X-120)/45)^2+((Y-90)/60)^2\\,1)"
    corner = "lt(X\\,30)*lt(Y\\,30)"
    r, g, b = (f"if({corner}\\,{c}\\,200*{inside})" for c in (230, 210, 0))
    sdr = path.with_name(path.stem + "-sdr.mp4")
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=black:size=240x180:rate=10:duration={seconds:g},format=rgb24,"
        f"geq=r='{r}':g='{g}':b='{b}'",
        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "18", *SDR_TAGS, str(sdr),
    )  # fmt: skip
    coded = path.with_name(path.stem + "-coded.mp4")
    ffmpeg(
        "-i", str(sdr),
        "-vf", f"zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt2020:t={transfer}:m=bt2020nc:r=tv:npl=203,"
        "format=yuv420p10le,setsar=4/3",
        "-c:v", "libx265", "-x265-params", "log-level=error", "-crf", "18",
        "-color_primaries", "bt2020", "-color_trc", transfer, "-colorspace", "bt2020nc", str(coded),
    )  # fmt: skip
    ffmpeg("-i", str(coded), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(path))
    sdr.unlink()
    coded.unlink()
    return path


def _pgs_segment(kind: int, payload: bytes, pts_s: float) -> bytes:
    pts = round(pts_s * 90_000).to_bytes(4, "big")
    return b"PG" + pts + pts + bytes([kind]) + len(payload).to_bytes(2, "big") + payload


def _pgs_display_set(
    pts_s: float, number: int, picture: tuple[int, int] | None, size: tuple[int, int]
) -> bytes:
    """One PGS display set: a white `picture` (w, h) box shown at 20 px from the top-left, or (None) the
    screen cleared. The segments as the Blu-ray format (and ffmpeg's pgssub decoder) reads them."""
    width, height = size
    u16 = lambda v: v.to_bytes(2, "big")  # noqa: E731
    objects = b"" if picture is None else u16(0) + b"\x00\x00" + u16(20) + u16(20)
    state = b"\x80" if picture is not None else b"\x00"  # epoch start / normal
    pcs = u16(width) + u16(height) + b"\x10" + u16(number) + state + b"\x00\x00" + bytes([len(objects) // 8])
    w, h = picture or (1, 1)
    wds = b"\x01\x00" + u16(20) + u16(20) + u16(w) + u16(h)
    segments = _pgs_segment(0x16, pcs + objects, pts_s) + _pgs_segment(0x17, wds, pts_s)
    if picture is not None:
        pds = b"\x00\x00" + bytes([1, 235, 128, 128, 255])  # palette entry 1: opaque white (Y Cr Cb A)
        # RLE: each line is "00 C0|len>>8 len&255 01" (len pixels of colour 1) then "00 00" (end of line)
        line = b"\x00" + bytes([0xC0 | (w >> 8), w & 0xFF, 1]) + b"\x00\x00"
        rle = line * h
        ods = u16(0) + b"\x00\xc0" + (len(rle) + 4).to_bytes(3, "big") + u16(w) + u16(h) + rle
        segments += _pgs_segment(0x14, pds, pts_s) + _pgs_segment(0x15, ods, pts_s)
    return segments + _pgs_segment(0x80, b"", pts_s)


def bitmap_subtitled(path: Path, codec: str = "copy", seconds: float = 3.0) -> Path:
    """A Matroska video with a real bitmap subtitle track: a Blu-ray PGS .sup written here segment by
    segment (ffmpeg 5.1 encodes bitmap subtitles only from bitmap subtitles, and has none to start
    from), one white 100x20 box shown from 0.5 s to 2.0 s, muxed next to a video as PGS
    (codec 'copy': hdmv_pgs_subtitle) or re-encoded by ffmpeg to DVD subtitles ('dvdsub')."""
    size = (320, 240)
    sup = path.with_name(path.stem + ".sup")
    sup.write_bytes(_pgs_display_set(0.5, 0, (100, 20), size) + _pgs_display_set(2.0, 1, None, size))
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=10:d={seconds}", "-f", "lavfi", "-i", f"sine=d={seconds}",
        "-i", str(sup), "-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "libx264", "-preset", "ultrafast",
        "-c:a", "aac", "-c:s", codec, "-copyts", str(path),
    )  # fmt: skip
    sup.unlink()
    return path
