"""Sync mode: `generate_content` per request, a few at a time, with retries on transient errors."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

from google import genai
from google.genai import types

from pipeline.errors import GeminiTransientError
from pipeline.gemini.client import translate_api_error
from pipeline.gemini.outcomes import RequestOutcome, outcome_from_response
from pipeline.gemini.requests import ChunkRequest, contents
from pipeline.tasks import Task

MAX_ATTEMPTS = 5


def _call(
    client: genai.Client,
    model: str,
    task: Task,
    request: ChunkRequest,
    config: types.GenerateContentConfig,
    video_fps: float,
) -> RequestOutcome:
    delay = 1.0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        started = time.monotonic()
        try:
            response = client.models.generate_content(
                model=model, contents=contents(task, request, video_fps), config=config
            )
        except Exception as exc:
            err = translate_api_error(exc, f"request {request.key}")
            if isinstance(err, GeminiTransientError) and attempt < MAX_ATTEMPTS:
                time.sleep(delay + random.uniform(0, delay))
                delay *= 2
                continue
            return RequestOutcome(key=request.key, mode="sync", status="error", error=str(err), billed=False)
        latency = int((time.monotonic() - started) * 1000)
        return outcome_from_response(request.key, response, mode="sync", latency_ms=latency)
    raise AssertionError("unreachable")


def run_sync(
    client: genai.Client,
    *,
    model: str,
    task: Task,
    requests: list[ChunkRequest],
    config: types.GenerateContentConfig,
    video_fps: float,
    concurrency: int = 4,
) -> list[RequestOutcome]:
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(lambda r: _call(client, model, task, r, config, video_fps), requests))
