"""Chunk plan and token estimate for one probed source. Pure: no I/O, numbers only from the catalog."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.account import plan_cost
from pipeline.catalog import model_limits, token_rules, transport_limits
from pipeline.errors import ConfigError
from pipeline.media.subtitles import Cue, chunk_context
from pipeline.models import (
    ChunkSpec,
    MediaPlan,
    MediaType,
    PrepareSettings,
    ProbeResult,
    TokenEstimate,
    Track,
)
from pipeline.plan.answer_size import AnswerSizeModel, RequestKind
from pipeline.tasks import track_prompt

# Room left in the context for the request wrapper, schema and any system instruction.
PROMPT_OVERHEAD_TOKENS = 1_000
# Conservative size of a prepared chunk (H.264 CRF 28 at <= max_height, audio at its bitrate): bytes per
# pixel of one sampled frame (measured ~0.01-0.03 on the fixtures; 0.08 leaves room for noisy content),
# and the container's overhead. Only used to keep chunks under the inline request limit.
VIDEO_BYTES_PER_PIXEL_FRAME = 0.08
CONTAINER_OVERHEAD = 1.10
MIN_CHUNK_SECONDS = 1.0
# A video whose sampled picture changed in at most this share of consecutive samples is static (slides,
# a screen recording): it is sampled at settings.static_fps.
STATIC_MAX_MOTION = 0.25
_ROUND = 3  # chunk boundaries in milliseconds


if TYPE_CHECKING:
    from pipeline.config import Settings
    from pipeline.tasks import Task


def prepared_video_size(probe: ProbeResult, settings: PrepareSettings) -> tuple[int, int]:
    """Display size after downscale to height <= max_height (even dims, never upscaled)."""
    w, h = probe.width or 0, probe.height or 0
    if not w or not h:
        return 0, 0
    out_h = min(h, settings.max_height)
    out_h -= out_h % 2
    out_w = round(w * out_h / h / 2) * 2
    return max(2, out_w), max(2, out_h)


def prepared_image_size(probe: ProbeResult, settings: PrepareSettings) -> tuple[int, int]:
    """Image size after the long side is brought to <= image_max_px (never upscaled)."""
    w, h = probe.width or 0, probe.height or 0
    long_side = max(w, h)
    if not long_side or long_side <= settings.image_max_px:
        return w, h
    scale = settings.image_max_px / long_side
    return max(1, round(w * scale)), max(1, round(h * scale))


def splits_sound(probe: ProbeResult, settings: PrepareSettings, model: str) -> bool:
    """A video whose sound is kept goes out as two requests when the sound has a model of its own."""
    return (
        probe.media_type is MediaType.VIDEO
        and probe.has_audio
        and settings.keep_audio
        and settings.audio_model is not None
        and settings.audio_model != model
    )


def source_settings(probe: ProbeResult, settings: PrepareSettings, model: str) -> PrepareSettings:
    """The settings this source is prepared (and billed) with: static pictures get static_fps,
    keyframes-only decoding stays on only where keyframes are at least one per sampled frame, and
    audio_model stays only where the sound really is split off."""
    audio_model = settings.audio_model if splits_sound(probe, settings, model) else None
    if probe.media_type is not MediaType.VIDEO:
        return settings.model_copy(update={"fast": False, "audio_model": audio_model})
    fps = settings.video_fps
    if settings.static_fps and probe.motion is not None and probe.motion <= STATIC_MAX_MOTION:
        fps = min(fps, settings.static_fps)
    interval = probe.keyframe_interval_s
    fast = settings.fast and interval is not None and interval <= 1.0 / fps + 1e-3
    return settings.model_copy(update={"video_fps": fps, "fast": fast, "audio_model": audio_model})


def _bitrate_bytes_per_s(bitrate: str) -> float:
    text = bitrate.strip().lower()
    mult = {"k": 1e3, "m": 1e6}.get(text[-1:], 1.0)
    number = text[:-1] if text[-1:] in ("k", "m") else text
    return float(number) * mult / 8


def _chunk_estimate(
    duration: float, probe: ProbeResult, settings: PrepareSettings, model: str
) -> TokenEstimate:
    rules = token_rules(model)
    est = TokenEstimate()
    if probe.media_type is MediaType.VIDEO:
        est.video = rules.video_tokens(duration, settings.video_fps, settings.media_resolution)
    if probe.has_audio and (settings.keep_audio or probe.media_type is MediaType.AUDIO):
        est.audio = rules.audio_tokens(duration)
    return est


def _chunk_bytes(duration: float, probe: ProbeResult, settings: PrepareSettings) -> float:
    size = 0.0
    if probe.media_type is MediaType.VIDEO:
        w, h = prepared_video_size(probe, settings)
        frames = max(1, math.ceil(duration * settings.video_fps))
        size += frames * w * h * VIDEO_BYTES_PER_PIXEL_FRAME
    if probe.has_audio and (settings.keep_audio or probe.media_type is MediaType.AUDIO):
        size += duration * _bitrate_bytes_per_s(settings.audio_bitrate)
    return size * CONTAINER_OVERHEAD


def max_chunk_length(
    probe: ProbeResult, *, settings: PrepareSettings, model: str, max_chunk_seconds: float, text_tokens: int
) -> float:
    """Longest chunk (seconds) under max_chunk_seconds whose prompt fits the context and whose bytes fit
    one inline request."""
    limit_tokens = model_limits(model).input_token_limit - text_tokens - PROMPT_OVERHEAD_TOKENS
    limit_bytes = transport_limits().inline_request_max_bytes

    def fits(seconds: float) -> bool:
        est = _chunk_estimate(seconds, probe, settings, model)
        return est.prompt_total <= limit_tokens and _chunk_bytes(seconds, probe, settings) <= limit_bytes

    if fits(max_chunk_seconds):
        return max_chunk_seconds
    lo, hi = 0.0, max_chunk_seconds
    for _ in range(60):  # bisection to the millisecond
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        if hi - lo < 1e-3:
            break
    if lo < MIN_CHUNK_SECONDS:
        raise ConfigError(
            f"no chunk of {MIN_CHUNK_SECONDS} s fits model {model} with these settings ({settings}); "
            "lower video_fps / max_height or shorten the prompt"
        )
    return math.floor(lo * 1000) / 1000


def split_chunks(duration: float, max_len: float, overlap: float) -> list[ChunkSpec]:
    """[start, end) chunks covering [0, duration]: each <= max_len, consecutive ones overlapping by
    `overlap`. The chunks are of equal length, so there is never a tiny tail: what a fixed stride would
    leave as a sliver is spread over all chunks (keeps every chunk under max_len, which merging the sliver
    into the previous chunk would not)."""
    if duration <= max_len:
        return [ChunkSpec(index=0, start_s=0.0, end_s=round(duration, _ROUND))]
    if overlap < 0 or overlap >= max_len / 2:
        raise ConfigError(f"overlap {overlap} s must be >= 0 and under half the chunk length {max_len} s")
    n = math.ceil((duration - overlap) / (max_len - overlap) - 1e-9)
    length = (duration + (n - 1) * overlap) / n
    stride = length - overlap
    chunks = []
    for i in range(n):
        start = round(i * stride, _ROUND)
        end = round(duration, _ROUND) if i == n - 1 else round(i * stride + length, _ROUND)
        chunks.append(ChunkSpec(index=i, start_s=start, end_s=end))
    return chunks


def plan_media(
    source_uri: str,
    probe: ProbeResult,
    *,
    settings: PrepareSettings,
    model: str,
    max_chunk_seconds: float,
    overlap_s: float,
    task: Task,
    max_output_tokens: int | None = None,
    answer_sizes: AnswerSizeModel | None = None,
    subtitles: list[Cue] | None = None,
) -> MediaPlan:
    """Chunks, downscale settings and token estimate for one source (cost is filled by the cost stage).

    `plan.settings` are the settings this source really gets (source_settings): send its chunks with
    `plan.settings.video_fps`; `plan.settings.audio_model` is set only where the video's sound goes to
    its own model, which is where that is estimated cheaper. Answer and thought tokens come from
    `answer_sizes` (earlier runs of the task, or its prior). `subtitles`: the cues of the source's text
    subtitle track, sent with each chunk's picture (or whole) request and counted as its text. Raises ConfigError for settings the model
    cannot take."""
    limit = model_limits(model).output_token_limit
    if max_output_tokens is not None and max_output_tokens > limit:
        raise ConfigError(
            f"max_output_tokens {max_output_tokens} is over model {model}'s output token limit of {limit} "
            "(pipeline/catalog/models.json); lower it"
        )
    sizes = answer_sizes or AnswerSizeModel(prior=task.answer_prior)
    shape = _Shape(task, max_output_tokens, sizes, tuple(subtitles or ()))
    settings = source_settings(probe, settings, model)
    rules = token_rules(model)
    split = settings.audio_model is not None

    if probe.media_type is MediaType.IMAGE or not probe.duration_s:
        settings = settings.model_copy(update={"audio_model": None})  # one picture, one request
        w, h = prepared_image_size(probe, settings)
        chunks = [ChunkSpec(index=0, start_s=0.0, end_s=0.0)]
        estimate = TokenEstimate(
            text=rules.text_tokens(task.prompt),
            image=rules.image_tokens(w, h, settings.media_resolution) if w and h else 0,
        )
        shape.add_answer(estimate, model, "image", 0.0)
        return MediaPlan(
            source_uri=source_uri,
            media_type=probe.media_type,
            duration_s=probe.duration_s,
            chunks=chunks,
            settings=settings,
            estimate=estimate,
        )

    if max_chunk_seconds <= 0:
        raise ConfigError(f"max_chunk_seconds must be > 0, got {max_chunk_seconds}")
    text = rules.text_tokens(track_prompt(task.prompt, Track.PICTURE if split else Track.ALL))
    max_len = max_chunk_length(
        probe, settings=settings, model=model, max_chunk_seconds=max_chunk_seconds, text_tokens=text
    )
    chunks = split_chunks(probe.duration_s, max_len, overlap_s)
    plan = MediaPlan(
        source_uri=source_uri,
        media_type=probe.media_type,
        duration_s=probe.duration_s,
        chunks=chunks,
        settings=settings,
        estimate=TokenEstimate(),
    )
    plan.estimate, plan.sound_estimate = estimate_requests(chunks, probe, settings, model, shape)
    if split:
        # A second request pays its own prompt, answer and thoughts: on short chunks that is more than
        # the cheaper audio rate saves, so the sound stays in the video request where that is cheaper.
        whole = settings.model_copy(update={"audio_model": None})
        estimate, _ = estimate_requests(chunks, probe, whole, model, shape)
        unsplit = plan.model_copy(update={"settings": whole, "estimate": estimate, "sound_estimate": None})
        routes = sizes.answered_by
        if plan_cost(model, unsplit, tier="batch", answered_by=routes) <= plan_cost(
            model, plan, tier="batch", answered_by=routes
        ):
            return unsplit
    return plan


@dataclass(frozen=True)
class _Shape:
    """What a source's requests will spend beyond the prompt: the task's generation per model and the
    answer sizes (learned or prior)."""

    task: Task
    max_output_tokens: int | None
    sizes: AnswerSizeModel
    subtitles: tuple[Cue, ...] = ()

    def add_answer(self, estimate: TokenEstimate, model: str, kind: RequestKind, seconds: float) -> None:
        generation = self.task.generation_for(model, self.max_output_tokens, sound=kind == "sound")
        got = self.sizes.sizes(model, kind, seconds, generation.thinking, generation.max_output_tokens)
        estimate.output += got.output
        estimate.thoughts += got.thoughts
        estimate.output_max += got.output_max
        estimate.thoughts_max += got.thoughts_max


def request_kind_of(probe: ProbeResult, track: Track) -> RequestKind:
    """The kind of a request, as the answer-size model knows it (pipeline.plan)."""
    if track is Track.PICTURE:
        return "picture"
    if track is Track.SOUND:
        return "sound"
    if probe.media_type is MediaType.IMAGE:
        return "image"
    return "video" if probe.media_type is MediaType.VIDEO else "audio"


def estimate_requests(
    chunks: list[ChunkSpec],
    probe: ProbeResult,
    settings: PrepareSettings,
    model: str,
    shape: _Shape,
) -> tuple[TokenEstimate, TokenEstimate | None]:
    """Tokens of the requests to the run's model, and of the sound requests when the sound is split."""
    rules = token_rules(model)
    audio_model = settings.audio_model
    track = Track.PICTURE if audio_model else Track.ALL
    prompt = track_prompt(shape.task.prompt, track)
    estimate = TokenEstimate()
    sound = TokenEstimate() if audio_model else None
    for chunk in chunks:
        part = _chunk_estimate(chunk.duration_s, probe, settings, model)
        # The service counts a request's text parts joined: the chunk's subtitles and the prompt as one.
        context = chunk_context(list(shape.subtitles), chunk.start_s, chunk.end_s)
        estimate.text += rules.text_tokens(context + prompt)
        estimate.video += part.video
        shape.add_answer(estimate, model, request_kind_of(probe, track), chunk.duration_s)
        if sound is None or audio_model is None:
            estimate.audio += part.audio
        else:  # the sound request: its own prompt, the chunk's audio, its own answer
            sound_rules = token_rules(audio_model)
            sound.text += sound_rules.text_tokens(track_prompt(shape.task.prompt, Track.SOUND))
            sound.audio += sound_rules.audio_tokens(chunk.duration_s)
            shape.add_answer(sound, audio_model, "sound", chunk.duration_s)
    return estimate, sound


def plan_for_run(
    source_uri: str,
    probe: ProbeResult,
    settings: Settings,
    task: Task,
    answer_sizes: AnswerSizeModel | None = None,
    subtitles: list[Cue] | None = None,
) -> MediaPlan:
    """plan_media with a run's settings and task: the one place they are turned into planning limits."""
    return plan_media(
        source_uri,
        probe,
        settings=settings.prepare_settings(task),
        model=settings.model,
        max_chunk_seconds=settings.max_chunk_seconds,
        overlap_s=settings.overlap_seconds,
        task=task,
        max_output_tokens=settings.max_output_tokens,
        answer_sizes=answer_sizes,
        subtitles=subtitles,
    )
