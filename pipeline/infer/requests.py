"""What one chunk's request looks like, per model family: contents (media part + task prompt) and the
generation config. The same objects feed the SDK's calls and, dumped through their public pydantic
models, the JSONL lines of a file batch (`rest_request`), so both transports send the same request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.genai import types

from pipeline.catalog import model_info
from pipeline.models import PrepareSettings, Track
from pipeline.tasks import TRACK_NOTES, Generation, Task

# generationConfig fields a request of ours may carry; anything else would be dropped from a JSONL line.
_GENERATION_FIELDS = frozenset(
    {"responseMimeType", "responseJsonSchema", "mediaResolution", "maxOutputTokens", "thinkingConfig"}
)


@dataclass
class ChunkRequest:
    """One request to send: a chunk of one source, its bytes or a signed URL of it, and where its answer
    belongs."""

    key: str
    source_uri: str
    chunk_index: int
    chunk_start_s: float
    chunk_duration_s: float
    mime_type: str
    data: bytes = field(repr=False)
    estimated_prompt_tokens: int = 0
    video_fps: float = 1.0  # the frame rate the chunk was prepared at: the model samples exactly those frames
    model: str = ""  # the model this request goes to ("" = the run's model)
    track: Track = Track.ALL  # what of the chunk it carries: a split video's picture or sound, or all
    media_resolution: str = "MEDIA_RESOLUTION_LOW"
    # A pre-signed GET URL of the staged chunk, for models that fetch media themselves; `data` is then
    # empty (never read from staging). A credential: repr leaves it out, logs go through redaction.
    url: str | None = field(default=None, repr=False)
    # The chunk's subtitle text part (PreparedChunk.subtitles), "" when there is none.
    subtitles: str = ""

    @property
    def chunk_end_s(self) -> float:
        return self.chunk_start_s + self.chunk_duration_s


def model_for(track: Track, settings: PrepareSettings, run_model: str) -> str:
    """A split video's sound goes to the plan's audio model, everything else to the run's model."""
    if track is Track.SOUND and settings.audio_model:
        return settings.audio_model
    return run_model


def video_metadata(request: ChunkRequest) -> types.VideoMetadata | None:
    """Chunks are already reduced to their frame rate: ask the model to sample every kept frame, no more."""
    if request.mime_type.startswith("video/") and request.video_fps != 1.0:
        return types.VideoMetadata(fps=request.video_fps)
    return None


def part_resolution(request: ChunkRequest, model: str) -> str | None:
    """The media resolution the chunk's part carries, or None. Families that take one per part (3.x,
    4.x) get it on a picture's part (2.x sets it for the whole request instead), except where the level
    is billed exactly as the family's default: a 3.x video frame is 70 tokens at LOW, MEDIUM and unset
    alike (pipeline/catalog/models.json), so there the field would change nothing but the size of every
    request of the batch."""
    rules = model_info(model).rules
    if not rules.per_part_resolution or not request.mime_type.startswith(("video/", "image/")):
        return None
    level, tokens = request.media_resolution, rules.tokens
    if request.mime_type.startswith("video/") and tokens.frame_tokens(level) == tokens.frame_tokens():
        return None  # frame_tokens() is the unset resolution's
    return level


def media_part(request: ChunkRequest, model: str, file_uri: str | None = None) -> types.Part:
    """The chunk inline, by reference to its Files API upload, or by its signed URL (the service fetches
    it), with its frame rate and media resolution where they differ from the service's defaults."""
    file_uri = file_uri or request.url
    if file_uri is not None:
        part = types.Part(file_data=types.FileData(file_uri=file_uri, mime_type=request.mime_type))
    else:
        part = types.Part.from_bytes(data=request.data, mime_type=request.mime_type)
    part.video_metadata = video_metadata(request)
    if (level := part_resolution(request, model)) is not None:
        part.media_resolution = types.PartMediaResolution(level=types.PartMediaResolutionLevel(level))
    return part


def contents(
    task: Task,
    request: ChunkRequest,
    model: str,
    *,
    prompt_cached: bool = False,
    file_uri: str | None = None,
) -> list[types.Content]:
    """The chunk's subtitles (a text part, where the source has a text subtitle track and the task asks
    for it), the media part, then the task's prompt unless the prompt comes from a context cache, then
    what the model must know about a split video's track (pipeline.tasks.TRACK_NOTES)."""
    parts = [types.Part.from_text(text=request.subtitles)] if request.subtitles else []
    parts.append(media_part(request, model, file_uri))
    note = TRACK_NOTES[request.track]
    if not prompt_cached:
        parts.append(types.Part.from_text(text=task.prompt + note))
    elif note:
        parts.append(types.Part.from_text(text=note))
    return [types.Content(role="user", parts=parts)]


def thinking_config(generation: Generation) -> types.ThinkingConfig | None:
    choice = generation.thinking
    if choice.level is not None:
        return types.ThinkingConfig(thinking_level=types.ThinkingLevel(choice.level))
    if choice.budget is not None:
        return types.ThinkingConfig(thinking_budget=choice.budget)
    return None  # DEFAULT: the model's own


def generation_config(
    task: Task,
    model: str,
    *,
    media_resolution: str,
    max_output_tokens: int | None = None,
    cached_content: str | None = None,
    escalate: bool = False,
    sound: bool = False,
) -> types.GenerateContentConfig:
    """The config of a task's requests to `model`: JSON answers against the task's schema (as
    pipeline.tasks.schema trims it: every request of a batch repeats it), the task's thinking, room for
    thoughts and answer, the request-wide media resolution where the family has no per-part one, and no
    sampling parameter (Gemini 3 advises against them; newer models ignore them)."""
    generation = task.generation_for(model, max_output_tokens, escalate=escalate, sound=sound)
    per_part = model_info(model).rules.per_part_resolution
    return types.GenerateContentConfig(
        cached_content=cached_content,
        response_mime_type="application/json",
        response_json_schema=task.response_schema(),
        media_resolution=None if per_part else types.MediaResolution(media_resolution),
        max_output_tokens=generation.max_output_tokens,
        thinking_config=thinking_config(generation),
    )


def rest_request(contents: list[types.Content], config: types.GenerateContentConfig) -> dict[str, Any]:
    """A GenerateContentRequest as the REST API takes it (a JSONL batch line's `request`), from the same
    SDK objects a direct call sends, through their public pydantic serialisation."""
    body: dict[str, Any] = {
        "contents": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in contents]
    }
    generation = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    cached = generation.pop("cachedContent", None)
    unknown = set(generation) - _GENERATION_FIELDS
    if unknown:
        raise ValueError(f"rest_request: config fields {sorted(unknown)} have no mapping to the REST request")
    body["generationConfig"] = generation
    if cached:
        body["cachedContent"] = cached
    return body
