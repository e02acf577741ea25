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
