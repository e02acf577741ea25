"""Batch Mode through the Files API, for batches too big to send inline (> 20 MB): each chunk is
uploaded (resumable) and referenced by URI, the requests go in a JSONL file, the results come back
as a JSONL file. Uploaded files are deleted after collection (they would expire after 48 h anyway).

Only the SDK's public API is used: the JSONL lines are the same `types.Content` / config objects a
direct call sends, serialised by `pipeline.infer.requests.rest_request`, and result lines are parsed
with `types.GenerateContentResponse.model_validate`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from google.genai import types

from pipeline.errors import GeminiRequestError, GeminiTransientError, PipelineError
from pipeline.gemini.client import GeminiClient
from pipeline.gemini.polling import PollingRule
from pipeline.infer.batch import missing, turnaround
from pipeline.infer.outcomes import outcome_from_response
from pipeline.infer.requests import ChunkRequest, contents, rest_request
from pipeline.run.state import RequestOutcome
from pipeline.tasks import Task

FILE_ACTIVE_TIMEOUT_S = 600.0
# Videos leave PROCESSING in seconds: look soon, then back off to a few seconds between looks.
FILE_POLLING = PollingRule(first_s=0.2, every_s=0.4, max_s=5.0)
log = logging.getLogger(__name__)


def _state(file: types.File) -> str:
    return str(getattr(file.state, "name", file.state))


def upload(
    client: GeminiClient,
    data: bytes,
    *,
    mime_type: str,
    display_name: str,
    sleep: Callable[[float], None] = time.sleep,
) -> types.File:
    """Upload bytes and wait until the service has processed them (video goes PROCESSING -> ACTIVE)."""
    file = client.upload_file(data, mime_type=mime_type, display_name=display_name)
    started, delays = time.monotonic(), FILE_POLLING.delays()
    while _state(file) == "PROCESSING":
        if time.monotonic() - started > FILE_ACTIVE_TIMEOUT_S:
            raise GeminiTransientError(
                f"{file.name} ({display_name}) still PROCESSING after {FILE_ACTIVE_TIMEOUT_S:.0f}s"
            )
        sleep(next(delays))
        file = client.get_file(file.name or "")
    if _state(file) != "ACTIVE":
        # The service processed the bytes and refused them: this request's media, not the run.
        raise GeminiRequestError(
            f"the Files API rejected {display_name}: {file.name} is {file.state} ({file.error})"
        )
    return file


def submit(
    client: GeminiClient,
    *,
    model: str,
    task: Task,
    requests: list[ChunkRequest],
    config: types.GenerateContentConfig,
    display_name: str,
) -> tuple[str, list[str]]:
    """Upload every chunk and the JSONL, create the job. Returns (job name, uploaded file names)."""
    uploaded: list[str] = []
    lines: list[str] = []
    cached = bool(config.cached_content)
    for request in requests:
        file = upload(
            client, request.data, mime_type=request.mime_type, display_name=f"{display_name}-{request.key}"
        )
        uploaded.append(str(file.name))
        body = contents(task, request, model, prompt_cached=cached, file_uri=file.uri)
        lines.append(json.dumps({"key": request.key, "request": rest_request(body, config)}))
    jsonl = upload(
        client, ("\n".join(lines) + "\n").encode(), mime_type="jsonl", display_name=f"{display_name}.jsonl"
    )
    uploaded.append(str(jsonl.name))
    job = client.create_batch(model, str(jsonl.name), display_name)
    return str(job.name), uploaded


def collect(
    client: GeminiClient,
    job: types.BatchJob,
    keys: list[str],
    *,
    thinking: Mapping[str, str | None] | None = None,
    submitted_at: datetime | None = None,
) -> list[RequestOutcome]:
    """Download the results file and turn each line into an outcome; a missing key is an error outcome."""
    if job.dest is None or not job.dest.file_name:
        raise GeminiRequestError(f"batch job {job.name} succeeded without a results file")
    raw = client.download_file(job.dest.file_name)
    latency, answered = turnaround(job, submitted_at)
    thinking = thinking or {}
    outcomes: dict[str, RequestOutcome] = {}
    for line in raw.decode().splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        key = str(doc.get("key", ""))
        if doc.get("error"):
            error = doc["error"]
            outcomes[key] = RequestOutcome(
                key=key,
                mode="batch",
                status="error",
                error=f"{error.get('code')}: {error.get('message')}",
                batch_job=job.name,
                billed=False,
                latency_ms=latency,
                answered_at=answered,
            )
            continue
        response = types.GenerateContentResponse.model_validate(doc.get("response", {}))
        outcomes[key] = outcome_from_response(
            key,
            response,
            mode="batch",
            latency_ms=latency,
            batch_job=job.name,
            thinking=thinking.get(key),
            answered_at=answered,
        )
    return [outcomes.get(k) or missing(job, k, "no line in the results file") for k in keys]


def delete_files(client: GeminiClient, names: list[str]) -> list[str]:
    """Delete uploaded files; returns the ones that could not be deleted (they expire after 48 h and
    cost nothing meanwhile, so a failure is logged, not raised: the run has its results)."""
    left: list[str] = []
    for name in names:
        try:
            client.delete_file(name)
        except PipelineError as err:  # a service refusal: logged, cleanup must not fail a paid run
            log.warning("%s", err)
            left.append(name)
    return left
