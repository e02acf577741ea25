"""What one chunk's request looks like: contents (media part + task prompt) and generation config."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.genai import types

from pipeline.models import PrepareSettings, Track
from pipeline.tasks import TRACK_NOTES, Task


@dataclass
class ChunkRequest:
    """One request to send: a chunk of one source, its bytes, and where its answer belongs."""

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


def media_part(request: ChunkRequest, file_uri: str | None = None) -> types.Part:
    """The chunk inline, or by reference to its Files API upload."""
    if file_uri is not None:
        part = types.Part(file_data=types.FileData(file_uri=file_uri, mime_type=request.mime_type))
    else:
        part = types.Part.from_bytes(data=request.data, mime_type=request.mime_type)
    part.video_metadata = video_metadata(request)
    return part


def contents(
    task: Task, request: ChunkRequest, *, prompt_cached: bool = False, file_uri: str | None = None
) -> list[types.Content]:
    """The media part, then the task's prompt unless the prompt comes from a context cache, then what the
    model must know about a split video's track (pipeline.tasks.TRACK_NOTES)."""
    parts = [media_part(request, file_uri)]
    note = TRACK_NOTES[request.track]
    if not prompt_cached:
        parts.append(types.Part.from_text(text=task.prompt + note))
    elif note:
        parts.append(types.Part.from_text(text=note))
    return [types.Content(role="user", parts=parts)]


def generation_config(
    task: Task, *, media_resolution: str, max_output_tokens: int, cached_content: str | None = None
) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        cached_content=cached_content,
        response_mime_type="application/json",
        response_schema=task.response_model,
        media_resolution=types.MediaResolution(media_resolution),
        max_output_tokens=max_output_tokens,
        temperature=0.0,
    )
