"""ffprobe a local file into a ProbeResult (whether its data really decodes: pipeline.media.decodable).

Everything ffprobe or ffmpeg cannot use becomes a MediaError subclass with a short `reason` code and a
message that names the file and the fix (ffmpeg's own failures are translated by the runner,
pipeline.media.ffmpeg); a missing binary is a ConfigError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import CorruptMediaError, MediaError, UnsupportedMediaError
from pipeline.media.colour import bit_depth
from pipeline.media.ffmpeg import Failure, FFmpeg, default_ffmpeg
from pipeline.media.sniff import SNIFF_BYTES, looks_like_text, sniff
from pipeline.media.still import MAX_IMAGE_PIXELS, StillInfo, read_still
from pipeline.media.subtitles import is_text_subtitle
from pipeline.models import MediaType, ProbeResult, StreamInfo

MAX_VIDEO_PIXELS = 40_000_000  # 8K is 33 MP; anything bigger per frame is not worth decoding
_PROBE = Failure(
    reason="unreadable_container",
    timeout_reason="probe_timeout",
    says="ffprobe cannot read it",
    fix="re-export or re-upload the file",
)

_IMAGE_FORMATS = {
    "image2",
    "png_pipe",
    "jpeg_pipe",
    "webp_pipe",
    "bmp_pipe",
    "tiff_pipe",
    "gif_pipe",
    "pam_pipe",
    "pgm_pipe",
    "ppm_pipe",
    "pbm_pipe",
    "qoi_pipe",
    "jpegxl_pipe",
    "j2k_pipe",
    "psd_pipe",
    "svg_pipe",
    "dpx_pipe",
    "exr_pipe",
    "pcx_pipe",
    "sgi_pipe",
    "xpm_pipe",
}
_IMAGE_CODECS = {
    "png",
    "mjpeg",
    "jpegls",
    "webp",
    "bmp",
    "tiff",
    "gif",
    "av1",
    "hevc",
    "jpeg2000",
    "jpegxl",
    "qoi",
    "pam",
    "pgm",
    "ppm",
    "pbm",
}
_HEIF_BRANDS = {"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"}
_AVIF_BRANDS = {"avif", "avis"}


def _name(path: Path, source: str | None) -> str:
    return source or path.name


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def _rate(value: Any) -> float | None:
    if not value or not isinstance(value, str):
        return None
    num, _, den = value.partition("/")
    try:
        n, d = float(num), float(den or 1)
    except ValueError:
        return None
    return n / d if n > 0 and d > 0 else None


def _rotation(stream: dict[str, Any]) -> int:
    """Clockwise rotation (0/90/180/270) a player applies to show the stream upright."""
    for side in stream.get("side_data_list") or []:
        if side.get("side_data_type") == "Display Matrix" and side.get("rotation") is not None:
            # ffprobe prints the matrix's counter-clockwise angle: -90 means turn 90 degrees clockwise
            return int(round(-float(side["rotation"]))) % 360 // 90 * 90
    rotate = (stream.get("tags") or {}).get("rotate")
    if rotate is not None:
        try:
            return int(round(float(rotate))) % 360 // 90 * 90
        except ValueError:
            return 0
    return 0


def _header_dimensions(head: bytes) -> tuple[int, int] | None:
    """Width and height an image header claims (PNG, BMP, GIF), read before any decoder allocates."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24 and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head[:2] == b"BM" and len(head) >= 26:
        if int.from_bytes(head[14:18], "little") == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
            return int.from_bytes(head[18:20], "little"), int.from_bytes(head[20:22], "little")
        width = int.from_bytes(head[18:22], "little", signed=True)
        height = int.from_bytes(head[22:26], "little", signed=True)
        return abs(width), abs(height)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    return None


def _exif_orientation(path: Path) -> int:
    """EXIF orientation (1-8) of a still image, 1 when absent or unreadable. Reads headers only."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # any reader trouble just means "no orientation"
        return 1


def _stream_info(s: dict[str, Any]) -> StreamInfo:
    return StreamInfo(
        index=int(s.get("index", 0)),
        codec_type=str(s.get("codec_type") or "data"),
        codec_name=s.get("codec_name"),
        width=s.get("width"),
        height=s.get("height"),
        duration_s=_float(s.get("duration")),
        channels=s.get("channels"),
        sample_rate=int(s["sample_rate"]) if str(s.get("sample_rate", "")).isdigit() else None,
        attached_pic=bool((s.get("disposition") or {}).get("attached_pic")),
        default=bool((s.get("disposition") or {}).get("default")),
        rotation=_rotation(s) if s.get("codec_type") == "video" else 0,
        avg_frame_rate=_rate(s.get("avg_frame_rate")) or _rate(s.get("r_frame_rate")),
        pix_fmt=s.get("pix_fmt"),
        color_transfer=_tag(s.get("color_transfer")),
        color_primaries=_tag(s.get("color_primaries")),
        color_space=_tag(s.get("color_space")),
        bit_depth=bit_depth(s.get("pix_fmt")) if s.get("codec_type") == "video" else None,
        sample_aspect_ratio=_sar(s.get("sample_aspect_ratio")),
    )


def _tag(value: Any) -> str | None:
    return str(value) if value and value not in ("unknown", "unspecified", "reserved") else None


def _sar(value: Any) -> float:
    """Sample aspect ratio ('64:45'); 1 when absent, 'N/A', '0:1' or absurd (a lying header must not
    make a 100000-pixel-wide plan)."""
    num, _, den = str(value or "").partition(":")
    try:
        sar = float(num) / float(den)
    except (ValueError, ZeroDivisionError):
        return 1.0
    return sar if 0.25 <= sar <= 4.0 else 1.0


# A container whose length exceeds its chosen picture's and sound's by more than this is long by its
# other tracks (subtitles, data), which are not what is answered.
_OTHER_TRACKS_SLACK_S = 1.0


def _stream_end(s: dict[str, Any], start: float) -> float | None:
    """Where a stream ends on its file's timeline (counted from the file's `start`): its start plus
    ffprobe's duration, else the DURATION tag Matroska muxers write ('00:00:03.023', an end time)."""
    found = _float(s.get("duration"))
    if found is not None:
        return (_float(s.get("start_time")) or start) + found - start
    tag = str((s.get("tags") or {}).get("DURATION") or "")
    hours, _, rest = tag.partition(":")
    minutes, _, seconds = rest.partition(":")
    try:
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _frame_count(s: dict[str, Any]) -> int | None:
    try:
        return int(s["nb_frames"])
    except (KeyError, TypeError, ValueError):
        return None


def _is_image(fmt: dict[str, Any], vs: dict[str, Any], duration: float | None) -> bool:
    format_name = fmt.get("format_name") or ""
    brand = str((fmt.get("tags") or {}).get("major_brand", "")).strip().lower()
    codec = vs.get("codec_name") or ""
    frames = _frame_count(vs)
    if brand in _AVIF_BRANDS or brand in _HEIF_BRANDS:
        # AVIF / HEIC (also an 'msf1' HEIF image sequence): a photo by intent; the primary (first)
        # picture is what we send. ffprobe shows the sequence as a 4.8 s video.
        return True
    if format_name == "gif" or codec == "gif":
        # Animated GIF with several frames -> video: the motion is the content, and Gemini takes no
        # image/gif anyway, so it must be re-encoded; a one-frame GIF is a picture.
        return not (frames and frames > 1 and (duration or 0) > 0)
    if format_name in _IMAGE_FORMATS or format_name.endswith("_pipe"):
        return True
    if codec in _IMAGE_CODECS and codec not in ("av1", "hevc", "gif") and (frames or 1) <= 1:
        return (duration or 0) <= 0.1  # e.g. a lone JPEG in some container
    return False


_STILL_CODECS = {"mjpeg", "png", "bmp", "gif", "webp", "tiff"}


def _is_cover_art(stream: dict[str, Any], audio: dict[str, Any] | None) -> bool:
    """A picture that only decorates a sound: flagged attached_pic (MP3 APIC, M4A covr), or, next to an
    audio stream, a one-frame still-image track (how some taggers store an M4A/M4B cover). Such a file
    is audio, not a video."""
    if (stream.get("disposition") or {}).get("attached_pic"):
        return True
    if audio is None or stream.get("codec_name") not in _STILL_CODECS:
        return False
    # unknown counts (an MJPEG camera clip in Matroska has neither) mean a real video track
    frames, duration = _frame_count(stream), _float(stream.get("duration"))
    return (frames is not None and frames <= 1) or (duration is not None and duration <= 0.1)


def check_head(head: bytes, name: str, source: str | None = None) -> None:
    """Refuse, from the first bytes alone, what must never reach a decoder: text and playlists posing
    as media, and images whose header claims a decompression-bomb size."""
    sniffed, _mime = sniff(head)
    if sniffed is MediaType.UNKNOWN and looks_like_text(head):
        what = "an HLS/M3U playlist" if head.lstrip().startswith(b"#EXTM3U") else "text, not media"
        raise UnsupportedMediaError(
            f"{name}: the content is {what}; upload the media file itself (playlists and text are not "
            "processed)",
            reason="playlist" if what.startswith("an HLS") else "not_media",
            source=source,
        )
    claimed = _header_dimensions(head)
    if claimed and claimed[0] * claimed[1] > MAX_IMAGE_PIXELS:
        raise MediaError(
            f"{name}: the image header claims {claimed[0]}x{claimed[1]} pixels (over "
            f"{MAX_IMAGE_PIXELS // 1_000_000} MP, a decompression-bomb guard); resize it below that or fix the file",
            reason="image_too_large",
            source=source,
        )


def probe(
    path: str | Path, *, source: str | None = None, profile: bool = True, runner: FFmpeg | None = None
) -> ProbeResult:
    """ffprobe `path` and decide its media type, display size, duration and the streams to use; for a
    video also (profile=True) its keyframe spacing and how much its picture changes (media.profile).

    Raises UnsupportedMediaError (not media at all), CorruptMediaError (cannot be read), or
    MediaError reason 'image_too_large' (decompression-bomb guard); ConfigError without ffprobe."""
    path = Path(path).resolve()  # absolute: a name starting with '-' can never look like an option
    name = _name(path, source)
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise MediaError(
            f"{name}: cannot read the file ({exc}); check that it was downloaded",
            reason="unreadable",
            source=source,
        ) from exc
    if not head:
        raise CorruptMediaError(
            f"{name}: the file is empty; upload it again", reason="empty_file", source=source
        )
    check_head(head, name, source)

    # Decoder by content: what sniffs as a picture goes to Pillow first (it reads HEIC, BigTIFF,
    # animated WebP/APNG that ffmpeg 5.1 cannot, and it is what prepares stills, so probe and
    # preparation agree); what Pillow does not know, and everything else, goes to ffprobe, with Pillow
    # as the fallback when ffprobe cannot read the file or size its picture.
    still = read_still(path, name, source) if sniff(head)[0] is MediaType.IMAGE else None
    if still is not None:
        return _from_still(still)
    runner = runner or default_ffmpeg()
    try:
        data = runner.probe(path, name=name, failure=_PROBE, source=source)
        result = _decide(data, path, name, source)
    except CorruptMediaError as exc:
        if exc.reason not in ("unreadable_container", "zero_dimensions"):
            raise
        still = read_still(path, name, source)
        if still is None:
            raise
        return _from_still(still)
    if profile and result.media_type is MediaType.VIDEO and result.video_stream is not None:
        from pipeline.media.profile import profile_video

        found = profile_video(path, result.video_stream, result.duration_s or 0.0, runner=runner)
        result.keyframe_interval_s, result.motion = found.keyframe_interval_s, found.motion
    return result


def _from_still(still: StillInfo) -> ProbeResult:
    """A ProbeResult from what Pillow read: a still (or an animation whose frames are all alike) is an
    image; a moving animation is a video, billed as frames, on its own timeline."""
    width, height = still.width, still.height
    rotation = {3: 180, 5: 90, 6: 90, 7: 270, 8: 270}.get(still.orientation, 0)
    if rotation in (90, 270):
        width, height = height, width
    moving = still.animated and still.moving
    duration = still.duration_s if moving else None
    rate = still.frames / duration if moving and duration else None
    stream = StreamInfo(
        index=0,
        codec_type="video",
        codec_name=still.format.lower(),
        width=still.width,
        height=still.height,
        duration_s=duration,
        rotation=rotation,
        avg_frame_rate=rate,
    )
    return ProbeResult(
        media_type=MediaType.VIDEO if moving else MediaType.IMAGE,
        format_name=still.format.lower(),
        duration_s=duration,
        width=width,
        height=height,
        has_video=True,
        video_stream=0,
        rotation=rotation,
        streams=[stream],
        decoder="pillow",
        animation=("moving" if moving else "still") if still.animated else None,
    )


def _decide(data: dict[str, Any], path: Path, name: str, source: str | None) -> ProbeResult:
    fmt = data.get("format") or {}
    raw_streams: list[dict[str, Any]] = data.get("streams") or []
    streams = [_stream_info(s) for s in raw_streams]
    format_name = str(fmt.get("format_name") or "unknown")

    audio_raw = _default_first(
        [s for s in raw_streams if s.get("codec_type") == "audio" and s.get("codec_name")]
    )
    subtitle_raw = _default_first([s for s in raw_streams if is_text_subtitle(s.get("codec_name"))])
    video_raw = next(
        (s for s in raw_streams if s.get("codec_type") == "video" and not _is_cover_art(s, audio_raw)),
        None,
    )
    if video_raw is None and audio_raw is None:
        raise CorruptMediaError(
            f"{name}: no audio or video stream that can be decoded ({format_name}); re-export the file",
            reason="no_media_streams",
            source=source,
        )

    duration = _float(fmt.get("duration"))
    chosen = [s for s in (video_raw, audio_raw) if s is not None]
    start = _float(fmt.get("start_time")) or 0.0
    ends = [_stream_end(s, start) for s in chosen]
    durations = [d for d in ends if d and d > 0]
    if duration is None or duration <= 0:
        duration = max(durations) if durations else None
    elif len(durations) == len(chosen) and duration > max(durations) + _OTHER_TRACKS_SLACK_S:
        # the container counts every track: a subtitle cue with no end (ffmpeg 5.1's dvdsub encoder
        # writes 4294967 s) or a long data track would plan hours of nothing after the picture
        duration = max(durations)

    width = height = 0  # none for audio (ProbeResult gets None)
    rotation = 0
    if video_raw is not None:
        width, height = int(video_raw.get("width") or 0), int(video_raw.get("height") or 0)
        if width <= 0 or height <= 0:
            raise CorruptMediaError(
                f"{name}: the picture has no size ({width}x{height}, codec {video_raw.get('codec_name')}); "
                "the file is damaged or not what its name says, re-export it",
                reason="zero_dimensions",
                source=source,
            )
        rotation = _rotation(video_raw)

    if video_raw is not None and _is_image(fmt, video_raw, duration):
        media_type = MediaType.IMAGE
        if width * height > MAX_IMAGE_PIXELS:
            raise MediaError(
                f"{name}: {width}x{height} pixels is over {MAX_IMAGE_PIXELS // 1_000_000} MP "
                "(decompression-bomb guard); resize the image",
                reason="image_too_large",
                source=source,
            )
        orientation = _exif_orientation(path)
        if orientation in (5, 6, 7, 8):
            rotation = {5: 90, 6: 90, 7: 270, 8: 270}[orientation]
        elif orientation == 3:
            rotation = 180
        duration = None
    elif video_raw is not None:
        media_type = MediaType.VIDEO
        # the display size: non-square pixels (DV, DVD, HDV) widen or narrow the coded width, before
        # any rotation. Video only: a JPEG's JFIF density is not a pixel shape players honour.
        sar = _sar(video_raw.get("sample_aspect_ratio"))
        if sar != 1.0:
            width = max(2, round(width * sar / 2) * 2)
        if width * height > MAX_VIDEO_PIXELS:
            raise MediaError(
                f"{name}: video frames of {width}x{height} are over {MAX_VIDEO_PIXELS // 1_000_000} MP; "
                "downscale the video before uploading",
                reason="image_too_large",
                source=source,
            )
    else:
        media_type = MediaType.AUDIO

    if media_type is not MediaType.IMAGE and (duration is None or duration <= 0):
        raise CorruptMediaError(
            f"{name}: no duration can be read ({format_name}); the file is probably truncated or damaged, "
            "re-export it",
            reason="no_duration",
            source=source,
        )
    if rotation in (90, 270) and width and height:
        width, height = height, width

    return ProbeResult(
        media_type=media_type,
        format_name=format_name,
        duration_s=duration,
        width=width if media_type is not MediaType.AUDIO else None,
        height=height if media_type is not MediaType.AUDIO else None,
        has_video=media_type is not MediaType.AUDIO,
        has_audio=audio_raw is not None and media_type is not MediaType.IMAGE,
        video_stream=int(video_raw["index"])
        if video_raw is not None and media_type is not MediaType.AUDIO
        else None,
        audio_stream=int(audio_raw["index"])
        if audio_raw is not None and media_type is not MediaType.IMAGE
        else None,
        rotation=rotation,
        streams=streams,
        subtitle_stream=int(subtitle_raw["index"])
        if subtitle_raw is not None and media_type is not MediaType.IMAGE
        else None,
    )


def _default_first(streams: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The track a player picks: the one flagged default, else the first (None when there is none)."""
    flagged = [s for s in streams if (s.get("disposition") or {}).get("default")]
    chosen = flagged or streams
    return chosen[0] if chosen else None
