"""Batch Mode through the Files API, for batches too big to send inline (> 20 MB): each chunk is
uploaded (resumable) and referenced by URI, the requests go in a JSONL file, the results come back
as a JSONL file. Uploaded files are deleted after collection (they would expire after 48 h anyway).

Only the SDK's public API is used: the JSONL lines are the same `types.Content` / config objects a
direct call sends, serialised by `pipeline.infer.requests.rest_request`, and result lines are parsed
with `types.GenerateContentResponse.model_validate`."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import datetime

from google import genai
from google.genai import types

from pipeline.errors import GeminiTransientError, TerminalError
from pipeline.gemini.client import translate_api_error
from pipeline.infer.batch import missing, turnaround
from pipeline.infer.outcomes import RequestOutcome, outcome_from_response
from pipeline.infer.requests import ChunkRequest, contents, rest_request
from pipeline.tasks import Task

FILE_ACTIVE_TIMEOUT_S = 600.0
log = logging.getLogger(__name__)


def _state(file: types.File) -> str:
    return str(getattr(file.state, "name", file.state))


def upload(client: genai.Client, data: bytes, *, mime_type: str, display_name: str) -> types.File:
    """Upload bytes and wait until the service has processed them (video goes PROCESSING -> ACTIVE)."""
    try:
        file = client.files.upload(
            file=io.BytesIO(data),
            config=types.UploadFileConfig(mime_type=mime_type, display_name=display_name),
        )
    except Exception as exc:
        raise translate_api_error(exc, f"uploading {display_name}") from exc
    started, delay = time.monotonic(), 0.2
    while _state(file) == "PROCESSING":
        if time.monotonic() - started > FILE_ACTIVE_TIMEOUT_S:
            raise GeminiTransientError(
                f"{file.name} ({display_name}) still PROCESSING after {FILE_ACTIVE_TIMEOUT_S:.0f}s"
            )
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
        try:
            file = client.files.get(name=file.name or "")
        except Exception as exc:
            raise translate_api_error(exc, f"checking upload {file.name} ({display_name})") from exc
    if _state(file) != "ACTIVE":
        raise TerminalError(
            f"the Files API rejected {display_name}: {file.name} is {file.state} ({file.error})"
        )
    return file


def submit(
    client: genai.Client,
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
    try:
        job = client.batches.create(
            model=model, src=jsonl.name, config=types.CreateBatchJobConfig(display_name=display_name)
        )
    except Exception as exc:
        raise translate_api_error(exc, f"creating batch job {display_name}") from exc
    return str(job.name), uploaded


def collect(
    client: genai.Client,
    job: types.BatchJob,
    keys: list[str],
    *,
    thinking: dict[str, str | None] | None = None,
    submitted_at: datetime | None = None,
) -> list[RequestOutcome]:
    """Download the results file and turn each line into an outcome; a missing key is an error outcome."""
    if job.dest is None or not job.dest.file_name:
        raise TerminalError(f"batch job {job.name} succeeded without a results file")
    try:
        raw = client.files.download(file=job.dest.file_name)
    except Exception as exc:
        raise translate_api_error(exc, f"downloading results of {job.name}") from exc
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


def delete_files(client: genai.Client, names: list[str]) -> list[str]:
    """Delete uploaded files; returns the ones that could not be deleted (they expire after 48 h and
    cost nothing meanwhile, so a failure is logged, not raised: the run has its results)."""
    left: list[str] = []
    for name in names:
        try:
            client.files.delete(name=name)
        except Exception as exc:  # noqa: BLE001 - translated and logged: cleanup must not fail a paid run
            err = translate_api_error(exc, f"deleting {name}")
            if err is exc:  # not a service error: a bug, which must not pass silently
                raise
            log.warning("%s", err)
            left.append(name)
    return left
