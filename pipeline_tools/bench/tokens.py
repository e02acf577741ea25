"""Billed tokens and USD per media hour: prepared chunks vs a naive request, as the Gemini emulator bills
them (the real google-genai SDK, `usage_metadata`), priced by pipeline.account."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from google import genai
from google.genai import types

from pipeline.account import Usage, request_cost
from pipeline.catalog import ServiceTier
from pipeline.infer.requests import ChunkRequest, contents, generation_config, model_for
from pipeline.models import PreparedChunk, PrepareSettings, Track
from pipeline.tasks import Task

HOUR_S = 3600.0


@dataclass(frozen=True)
class Billed:
    """What a set of requests covering `media_s` seconds of media was billed, per model."""

    media_s: float
    requests: int
    by_model: dict[str, Usage]

    @property
    def usage(self) -> Usage:
        total = Usage()
        for usage in self.by_model.values():
            total = _add(total, usage)
        return total

    def tokens_per_hour(self) -> float:
        u = self.usage
        return (u.prompt_total + u.output + u.thoughts) * HOUR_S / self.media_s

    def usd_per_hour(self, *, batch: bool) -> float:
        return sum(self.usd_per_hour_by_model(batch=batch).values())

    def usd_per_hour_by_model(self, *, batch: bool) -> dict[str, float]:
        """USD per media hour of each model's requests, at today's price window."""
        tier: ServiceTier = "batch" if batch else "standard"
        return {
            m: float(request_cost(m, u, tier=tier)[0]) * HOUR_S / self.media_s
            for m, u in self.by_model.items()
        }

    def per_media_second(self, field: str) -> float:
        """Billed tokens of one kind (a Usage field, e.g. "video") per media second."""
        return float(getattr(self.usage, field)) / self.media_s


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(**{k: getattr(a, k) + getattr(b, k) for k in Usage.model_fields})


def _config(task: Task) -> types.GenerateContentConfig:
    """The naive request: the model's default media resolution, thinking and output cap; JSON answers."""
    return types.GenerateContentConfig(
        response_mime_type="application/json",
        response_json_schema=task.response_model.model_json_schema(),
    )


def bill_prepared(
    client: genai.Client,
    model: str,
    task: Task,
    chunks: list[PreparedChunk],
    *,
    settings: PrepareSettings,
    media_s: float,
) -> Billed:
    """Send every prepared chunk inline as the pipeline builds it (pipeline.infer.requests): the plan's
    frame rate and media resolution, a split video's sound to the plan's audio model."""
    by_model: dict[str, Usage] = {}
    for chunk in chunks:
        to = model_for(chunk.track, settings, model)
        config = generation_config(
            task, to, media_resolution=settings.media_resolution, sound=chunk.track is Track.SOUND
        )
        request = ChunkRequest(
            key=f"c{chunk.index}-{chunk.track.value}",
            source_uri="bench",
            chunk_index=chunk.index,
            chunk_start_s=chunk.start_s,
            chunk_duration_s=chunk.duration_s,
            mime_type=chunk.mime_type,
            data=Path(chunk.path or "").read_bytes(),
            video_fps=settings.video_fps,
            model=to,
            track=chunk.track,
            media_resolution=settings.media_resolution,
        )
        response = client.models.generate_content(
            model=to, contents=contents(task, request, to), config=config
        )
        by_model[to] = _add(by_model.get(to, Usage()), Usage.from_usage_metadata(response.usage_metadata))
    return Billed(media_s=media_s, requests=len(chunks), by_model=by_model)


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
        config=_config(task),
    )
    return Billed(
        media_s=media_s, requests=1, by_model={model: Usage.from_usage_metadata(response.usage_metadata)}
    )
