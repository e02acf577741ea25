"""Billed tokens and USD per media hour: prepared chunks vs a naive request, as the Gemini emulator bills
them (the real google-genai SDK, `usage_metadata`), priced by pipeline.cost."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from google import genai
from google.genai import types

from pipeline.cost import Usage, request_cost
from pipeline.models import PreparedChunk
from pipeline.tasks import Task

HOUR_S = 3600.0
MAX_OUTPUT_TOKENS = 4096


@dataclass(frozen=True)
class Billed:
    """What a set of requests covering `media_s` seconds of media was billed."""

    media_s: float
    requests: int
    usage: Usage

    def tokens_per_hour(self) -> float:
        return (self.usage.prompt_total + self.usage.output + self.usage.thoughts) * HOUR_S / self.media_s

    def usd_per_hour(self, model: str, *, batch: bool) -> float:
        usd, _version = request_cost(model, self.usage, batch=batch)
        return float(usd) * HOUR_S / self.media_s


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(**{k: getattr(a, k) + getattr(b, k) for k in Usage.model_fields})


def _config(task: Task, media_resolution: str | None) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        response_mime_type="application/json",
        response_schema=task.response_model,
        media_resolution=types.MediaResolution(media_resolution) if media_resolution else None,
        max_output_tokens=MAX_OUTPUT_TOKENS,
        temperature=0.0,
    )


def bill_prepared(
    client: genai.Client,
    model: str,
    task: Task,
    chunks: list[PreparedChunk],
    *,
    video_fps: float,
    media_resolution: str,
    media_s: float,
) -> Billed:
    """Send every prepared chunk inline, as the pipeline does (fps = the plan's, resolution = the run's)."""
    total = Usage()
    for chunk in chunks:
        part = types.Part.from_bytes(data=Path(chunk.path or "").read_bytes(), mime_type=chunk.mime_type)
        if chunk.mime_type.startswith("video/") and video_fps != 1.0:
            part.video_metadata = types.VideoMetadata(fps=video_fps)
        response = client.models.generate_content(
            model=model,
            contents=[types.Content(role="user", parts=[part, types.Part.from_text(text=task.prompt)])],
            config=_config(task, media_resolution),
        )
        total = _add(total, Usage.from_usage_metadata(response.usage_metadata))
    return Billed(media_s=media_s, requests=len(chunks), usage=total)


def bill_naive(client: genai.Client, model: str, task: Task, clip: Path, media_s: float) -> Billed:
    """The naive request: the source's own bytes (full resolution, original audio) through the Files API,
    default media resolution, default 1 fps sampling."""
    uploaded = client.files.upload(file=str(clip), config=types.UploadFileConfig(mime_type="video/mp4"))
    deadline = time.monotonic() + 120
    while uploaded.state and uploaded.state.name == "PROCESSING" and time.monotonic() < deadline:
        time.sleep(0.2)
        uploaded = client.files.get(name=uploaded.name or "")
    part = types.Part.from_uri(file_uri=uploaded.uri or "", mime_type="video/mp4")
    response = client.models.generate_content(
        model=model,
        contents=[types.Content(role="user", parts=[part, types.Part.from_text(text=task.prompt)])],
        config=_config(task, None),
    )
    return Billed(media_s=media_s, requests=1, usage=Usage.from_usage_metadata(response.usage_metadata))
