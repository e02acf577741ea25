"""Turn a planned source into the chunk files that are sent to Gemini.

Video and audio: ONE ffmpeg process per source decodes it once and writes every chunk (split/asplit
into one trim branch per chunk). A video's sound goes into its chunk files, or, where the plan splits it
off (settings.audio_model), into an Ogg/Opus file per chunk written by the same pass. Images: whichever decoder the probe chose (ProbeResult.decoder):
Pillow (pipeline.media.still: EXIF orientation applied, resized, re-encoded as a metadata-free JPEG), or
ffmpeg's first frame for what Pillow cannot read (a HEIF image sequence). A moving animation (GIF, APNG,
animated WebP): Pillow's frames, with their times, through the same one ffmpeg pass as a video. Every video and
audio output is ffprobed afterwards, so a PreparedChunk carries what the file really holds (its real duration
and streams); a picture's JPEG is read back from its header by Pillow (its size is all there is to know). A text subtitle track, where
the task asks for it, is read in one extra pass (demux only) and cut per planned chunk
(pipeline.media.subtitles), onto the chunk record.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import CorruptMediaError, MediaError
from pipeline.media.colour import to_sdr_filters
from pipeline.media.ffmpeg import Failure, FFmpeg, Input, default_ffmpeg
from pipeline.media.still import open_image, save_animation, save_jpeg
from pipeline.media.subtitles import chunk_context, extract_cues
from pipeline.models import (
    ChunkSpec,
    MediaPlan,
    MediaType,
    PreparedChunk,
    PrepareSettings,
    ProbeResult,
    Track,
)
from pipeline.plan import prepared_image_size, prepared_video_size

VIDEO_MIME = "video/mp4"
IMAGE_MIME = "image/jpeg"
# Audio-only chunks: Opus in Ogg (audio/ogg, a Gemini audio type). Measured on a 1.225 s chunk: Ogg/Opus
# reads back as 1.232 s, MP3 at 16 kHz as 1.332 s (encoder padding), which breaks the 0.1 s contract.
AUDIO_CODEC, AUDIO_EXT, AUDIO_MIME = "libopus", "ogg", "audio/ogg"
X264_PRESET = "veryfast"
SCALE_FLAGS = "bicubic"
X264_CRF = "28"
JPEG_QUALITY = 85
FFMPEG_MIN_TIMEOUT_S = 120
FFMPEG_TIMEOUT_PER_SOURCE_SECOND = 2.0
# Before chunking, video is made constant-rate at this many fps (at least settings.video_fps): long VFR
# frames (animated GIF delays, v_h264_vfr_*: a 1.57 s last frame) get repeated so every chunk has a frame
# near its end, and later filters handle fewer frames. Its period bounds how far a chunk's duration can
# be off the plan.
TIMING_FPS = 20.0
TAIL_PAD_S = 5.0


_TRANSCODE = Failure(
    reason="transcode_failed",
    timeout_reason="prepare_timeout",
    says="ffmpeg could not convert it",
    fix="re-export the file",
    lines=3,
)


_STRIP = ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn", "-fflags", "+bitexact"]


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def _select_expr(fps: float, chunk_duration: float, last_window: float) -> str:
    """Keep the first frame of every 1/fps cell (source timestamps, so a chunk's frames sit where they
    were; the fps filter would move them onto its grid), plus the chunk's last frame."""
    cell = f"floor(t*{repr(float(fps))}+1e-6)"
    prev = f"floor(prev_selected_t*{repr(float(fps))}+1e-6)"
    tail = _fmt(max(0.0, chunk_duration - last_window))
    return f"select='isnan(prev_selected_t)+gt({cell}\\,{prev})+gte(t\\,{tail})'"


@dataclass(frozen=True)
class ChunkOutput:
    """One file the ffmpeg pass writes: which chunk, where, and what of it."""

    chunk: ChunkSpec
    path: Path
    mime_type: str
    track: Track


def _av_args(
    src: Path, plan: MediaPlan, probe: ProbeResult, out_dir: Path
) -> tuple[Input, list[str], list[ChunkOutput]]:
    settings: PrepareSettings = plan.settings
    chunks: list[ChunkSpec] = plan.chunks
    n = len(chunks)
    is_video = probe.media_type is MediaType.VIDEO and probe.video_stream is not None
    with_audio = (
        probe.has_audio
        and probe.audio_stream is not None
        and (settings.keep_audio or probe.media_type is MediaType.AUDIO)
    )
    graph: list[str] = []
    if is_video:
        w, h = prepared_video_size(probe, settings)
        labels = "".join(f"[vs{i}]" for i in range(n))
        # yadif deint=interlaced touches only frames flagged interlaced (1080i .mts), passes the rest;
        # ffmpeg has already turned the picture upright (autorotate), so w x h is the display size.
        timing_fps = max(TIMING_FPS, settings.video_fps)
        # fps: eof_action=pass keeps the one frame of a sub-second clip; tpad repeats the last frame so
        # the last chunk has frames up to the source's end even when its last frame is long (trim cuts
        # the padding off again).
        # Everything before the split passes frame references (no pixel work besides decoding);
        # each branch scales only the frames its select keeps (~video_fps), which keeps the pass at
        # about the cost of decoding alone.
        # A picture that starts late (a recording cut between keyframes) is black until its first frame:
        # fps start_time=0 would show that frame from 0 s, and the model would place it there.
        # HDR (PQ, HLG) and wide gamut become SDR BT.709 8-bit in each branch, after select and before
        # scale: only the ~video_fps kept frames pay for the float tone-mapping, and it runs at full
        # resolution, in linear light. '' for SDR: its chain (and its bytes) stay as they were.
        # scale to the display size + setsar=1 turns non-square pixels square (w x h has the SAR in).
        stream = probe.video_info()
        to_sdr = to_sdr_filters(stream) if stream is not None else ""
        # ffmpeg 5.1's drawbox is 8-bit only (a scaler would be inserted, and the tone-mapping would
        # get 8-bit PQ); lutyuv paints the same TV-range black at any bit depth.
        paint = (
            "lutyuv=y=minval:u=(minval+maxval)/2:v=(minval+maxval)/2" if to_sdr else "drawbox=c=black:t=fill"
        )
        blank = f"{paint}:enable='lt(t\\,{_fmt(probe.picture_start_s)})'," if probe.picture_start_s else ""
        graph.append(
            f"[0:{probe.video_stream}]yadif=mode=send_frame:deint=interlaced,"
            f"fps={timing_fps:g}:start_time=0:eof_action=pass,{blank}"
            f"tpad=stop_mode=clone:stop_duration={TAIL_PAD_S:g},split={n}{labels}"
        )
        # trim keeps only frames that END by the chunk end, so the last kept one starts within two periods
        window = 2.0 / timing_fps
        for i, c in enumerate(chunks):
            graph.append(
                f"[vs{i}]trim=start={_fmt(c.start_s)}:end={_fmt(c.end_s)},setpts=PTS-STARTPTS,"
                f"{_select_expr(settings.video_fps, c.duration_s, window)},{to_sdr}"
                f"scale={w}:{h}:flags={SCALE_FLAGS},setsar=1,format=yuv420p[v{i}]"
            )
    if with_audio:
        labels = "".join(f"[as{i}]" for i in range(n))
        # The sound is made to span the whole source: silence where a track starts late (first_pts=0),
        # has holes (async), or ends early (apad). Otherwise a late track would slide every sound
        # forward on the chunk's timeline, and a chunk past the track's end would have no audio at all.
        pad = f",apad=whole_dur={_fmt(probe.duration_s)}" if probe.duration_s else ""
        graph.append(
            f"[0:{probe.audio_stream}]aresample=async=1:first_pts=0,"
            f"aformat=sample_fmts=fltp:sample_rates={settings.audio_sample_rate}"
            f":channel_layouts=mono{pad},asplit={n}{labels}"
        )
        for i, c in enumerate(chunks):
            graph.append(
                f"[as{i}]atrim=start={_fmt(c.start_s)}:end={_fmt(c.end_s)},asetpts=PTS-STARTPTS[a{i}]"
            )

    # Fast mode: the decoder skips every non-key frame (planning allows it only where keyframes are at
    # least one per sampled frame); the timing grid above still makes every chunk exact.
    input_options = ("-skip_frame", "nokey") if is_video and settings.fast else ()
    source = Input.file(src, *input_options)
    args = ["-filter_complex", ";".join(graph)]
    # The sound of a video goes into the video file, or (split) into an audio file of its own.
    split = is_video and with_audio and settings.audio_model is not None
    outputs: list[ChunkOutput] = []
    for i, c in enumerate(chunks):
        if is_video:
            out = out_dir / f"chunk_{i:03d}.mp4"
            args += ["-map", f"[v{i}]"]
            if with_audio and not split:
                args += ["-map", f"[a{i}]", "-c:a", "aac", *_audio_options(settings)]
            # vfr keeps the selected frames' own timestamps; a fresh encoder per file starts every
            # chunk on a keyframe, -g bounds the GOP at ~10 s of sampled frames.
            args += [
                "-c:v",
                "libx264",
                "-preset",
                X264_PRESET,
                "-crf",
                X264_CRF,
                "-pix_fmt",
                "yuv420p",
                "-fps_mode",
                "vfr",
                "-g",
                str(max(1, round(10 * settings.video_fps))),
                "-flags:v",
                "+bitexact",
                *_STRIP,
                "-movflags",
                "+faststart",
                str(out),
            ]
            outputs.append(ChunkOutput(c, out, VIDEO_MIME, Track.PICTURE if split else Track.ALL))
        if not is_video or split:
            out = out_dir / f"chunk_{i:03d}.{AUDIO_EXT}"
            args += [
                "-map",
                f"[a{i}]",
                "-c:a",
                AUDIO_CODEC,
                *_audio_options(settings),
                "-vn",
                *_STRIP,
                str(out),
            ]
            outputs.append(ChunkOutput(c, out, AUDIO_MIME, Track.SOUND if split else Track.ALL))
    return source, args, outputs


def _audio_options(settings: PrepareSettings) -> list[str]:
    return ["-b:a", settings.audio_bitrate, "-ac", "1", "-ar", str(settings.audio_sample_rate)]


def _chunk_from_output(
    runner: FFmpeg, index: int, start_s: float, path: Path, mime: str, name: str, track: Track = Track.ALL
) -> PreparedChunk:
    if not path.exists() or path.stat().st_size == 0:
        raise CorruptMediaError(
            f"{name}: ffmpeg wrote no data for {path.name}; re-export the source", reason="empty_chunk"
        )
    read_back = Failure(
        "bad_output",
        "prepare_timeout",
        f"the prepared chunk {path.name} cannot be read back",
        "re-export the source",
        slow=f"ffprobe of the prepared chunk {path.name}",
    )
    info = runner.probe(path, name=name, failure=read_back)
    fmt = info.get("format") or {}
    streams = info.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    try:
        duration = float(fmt.get("duration") or 0.0)
    except ValueError:
        duration = 0.0
    return PreparedChunk(
        index=index,
        start_s=start_s,
        duration_s=duration if mime != IMAGE_MIME else 0.0,
        mime_type=mime,
        bytes=path.stat().st_size,
        path=str(path),
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        track=track,
    )


def _prepare_av(
    runner: FFmpeg,
    src: Path,
    plan: MediaPlan,
    probe: ProbeResult,
    out_dir: Path,
    name: str,
    input_format: tuple[str, ...] = (),
) -> list[PreparedChunk]:
    source, args, outputs = _av_args(src, plan, probe, out_dir)
    source = Input(source.target, (*input_format, *source.options))
    timeout = max(FFMPEG_MIN_TIMEOUT_S, (probe.duration_s or 0.0) * FFMPEG_TIMEOUT_PER_SOURCE_SECOND)
    runner.run([source], args, name=name, failure=_TRANSCODE, timeout=timeout)
    return [
        _chunk_from_output(runner, o.chunk.index, o.chunk.start_s, o.path, o.mime_type, name, o.track)
        for o in outputs
    ]


def _prepare_image_ffmpeg(
    runner: FFmpeg, src: Path, plan: MediaPlan, probe: ProbeResult, out: Path, name: str
) -> None:
    w, h = prepared_image_size(probe, plan.settings)
    w, h = max(2, w - w % 2), max(2, h - h % 2)
    args = [
        "-map",
        f"0:{probe.video_stream}",
        "-frames:v",
        "1",
        "-vf",
        f"scale={w}:{h}:flags=lanczos,setsar=1,format=yuvj420p",
        "-c:v",
        "mjpeg",
        "-q:v",
        "3",
        *_STRIP,
        "-f",
        "image2",
        "-update",
        "1",
        str(out),
    ]
    runner.run([Input.file(src)], args, name=name, failure=_TRANSCODE, timeout=FFMPEG_MIN_TIMEOUT_S)


def _prepare_animation(
    runner: FFmpeg, src: Path, plan: MediaPlan, probe: ProbeResult, out_dir: Path, name: str
) -> list[PreparedChunk]:
    """A moving animation: Pillow decodes its frames into a concat list of PNGs at the prepared size
    (with each frame's time), which the one ffmpeg pass then samples like any video."""
    size = prepared_video_size(probe, plan.settings)
    with tempfile.TemporaryDirectory(prefix="frames-", dir=out_dir) as scratch:
        listing = save_animation(src, size, Path(scratch), name)
        frames = probe.model_copy(update={"rotation": 0, "has_audio": False, "audio_stream": None})
        return _prepare_av(runner, listing, plan, frames, out_dir, name, ("-f", "concat"))


def _prepare_image(
    runner: FFmpeg, src: Path, plan: MediaPlan, probe: ProbeResult, out_dir: Path, name: str
) -> list[PreparedChunk]:
    out = out_dir / "chunk_000.jpg"
    if probe.decoder == "pillow":
        save_jpeg(src, plan.settings.image_max_px, out, JPEG_QUALITY, name)
    else:
        _prepare_image_ffmpeg(runner, src, plan, probe, out, name)
    return [_image_chunk(out, name)]


def _image_chunk(path: Path, name: str) -> PreparedChunk:
    """The JPEG just written, read back from its header by Pillow: a picture has no duration and no
    sound, and its size is all the request needs, so no ffprobe is started for it (85% of a night's
    objects are pictures; a probe process each was most of their preparation)."""
    if not path.exists() or path.stat().st_size == 0:
        raise CorruptMediaError(
            f"{name}: no picture was written for {path.name}; re-export the source", reason="empty_chunk"
        )
    try:
        with open_image(path, name) as im:
            width, height = im.size
    except (MediaError, OSError) as exc:  # UnidentifiedImageError is an OSError
        raise CorruptMediaError(
            f"{name}: the prepared chunk {path.name} cannot be read back ({exc}); re-export the source",
            reason="bad_output",
        ) from exc
    return PreparedChunk(
        index=0,
        start_s=0.0,
        duration_s=0.0,
        mime_type=IMAGE_MIME,
        bytes=path.stat().st_size,
        path=str(path),
        width=width,
        height=height,
        has_audio=False,
    )


def _attach_subtitles(
    runner: FFmpeg, src: Path, plan: MediaPlan, probe: ProbeResult, chunks: list[PreparedChunk]
) -> None:
    """The one extra pass (demux only) for a text subtitle track; a split video's sound request goes
    without them (the picture request has them, and the estimate counts them there)."""
    cues = extract_cues(src, probe, source=plan.source_uri, runner=runner)
    spans = {c.index: c for c in plan.chunks}
    for chunk in chunks:
        span = spans.get(chunk.index)
        if span is not None and chunk.track is not Track.SOUND:
            chunk.subtitles = chunk_context(cues, span.start_s, span.end_s) or None


def prepare_media(
    src: str | Path,
    plan: MediaPlan,
    probe: ProbeResult,
    out_dir: str | Path,
    *,
    runner: FFmpeg | None = None,
    subtitles: bool = False,
) -> list[PreparedChunk]:
    """Write every planned chunk of `src` into `out_dir` (chunk_000.mp4 / .ogg / .jpg ...). With
    `subtitles` (the task asks for them), each picture (or whole) chunk of a source with a text subtitle
    track carries the cues that overlap its planned span (PreparedChunk.subtitles), as the estimate
    counted them.

    Raises CorruptMediaError (ffmpeg or Pillow cannot convert it, naming the file and ffmpeg's last
    stderr lines) or MediaError; ConfigError without ffmpeg."""
    src = Path(src).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    name = Path(plan.source_uri).name or src.name
    runner = runner or default_ffmpeg()
    try:
        if plan.media_type is MediaType.IMAGE:
            return _prepare_image(runner, src, plan, probe, out_dir, name)
        if plan.media_type is MediaType.VIDEO and probe.decoder == "pillow":
            return _prepare_animation(runner, src, plan, probe, out_dir, name)
        if plan.media_type in (MediaType.VIDEO, MediaType.AUDIO):
            chunks = _prepare_av(runner, src, plan, probe, out_dir, name)
            if subtitles and probe.subtitle_stream is not None:
                _attach_subtitles(runner, src, plan, probe, chunks)
            return chunks
    except MediaError as exc:
        exc.source = exc.source or plan.source_uri
        raise
    raise MediaError(
        f"{name}: media type {plan.media_type} cannot be prepared",
        reason="unsupported_media",
        source=plan.source_uri,
    )
