"""Batch Mode through the Files API, for batches too big to send inline (> 20 MB): each chunk is
uploaded (resumable) and referenced by URI, the requests go in a JSONL file, the results come back
as a JSONL file. Uploaded files are deleted after collection (they would expire after 48 h anyway)."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from google import genai
from google.genai import _common, types
from google.genai import batches as sdk_batches

from pipeline.errors import GeminiTransientError, TerminalError
from pipeline.gemini.client import translate_api_error
from pipeline.gemini.outcomes import RequestOutcome, outcome_from_response
from pipeline.gemini.requests import ChunkRequest, contents
from pipeline.tasks import Task

FILE_ACTIVE_TIMEOUT_S = 600.0


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
    while str(getattr(file.state, "name", file.state)) == "PROCESSING":
        if time.monotonic() - started > FILE_ACTIVE_TIMEOUT_S:
            raise GeminiTransientError(
                f"{file.name} ({display_name}) still PROCESSING after {FILE_ACTIVE_TIMEOUT_S:.0f}s"
            )
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
        file = client.files.get(name=file.name)
    if str(getattr(file.state, "name", file.state)) != "ACTIVE":
        raise TerminalError(
            f"the Files API rejected {display_name}: {file.name} is {file.state} ({file.error})"
        )
    return file


def _request_line(
    client: genai.Client,
    task: Task,
    request: ChunkRequest,
    file: types.File,
    config: types.GenerateContentConfig,
) -> dict[str, Any]:
    inlined = types.InlinedRequest(
        contents=contents(task, request, prompt_cached=bool(config.cached_content), file_uri=file.uri),
        config=config,
    )
    # The SDK's own request converter: the JSONL line carries exactly what an inline request would.
    wire = sdk_batches._InlinedRequest_to_mldev(client._api_client, inlined)
    wire = _common.encode_unserializable_types(_common.convert_to_dict(wire))
    return {"key": request.key, "request": wire["request"]}


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
    for request in requests:
        file = upload(
            client, request.data, mime_type=request.mime_type, display_name=f"{display_name}-{request.key}"
        )
        uploaded.append(str(file.name))
        lines.append(json.dumps(_request_line(client, task, request, file, config)))
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
    client: genai.Client, job: types.BatchJob, keys: list[str], *, elapsed_ms: int | None
) -> list[RequestOutcome]:
    """Download the results file and turn each line into an outcome; a missing key is an error outcome."""
    if job.dest is None or not job.dest.file_name:
        raise TerminalError(f"batch job {job.name} succeeded without a results file")
    try:
        raw = client.files.download(file=job.dest.file_name)
    except Exception as exc:
        raise translate_api_error(exc, f"downloading results of {job.name}") from exc
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
            )
            continue
        response = types.GenerateContentResponse._from_response(
            response=sdk_batches._GenerateContentResponse_from_mldev(doc.get("response", {})), kwargs={}
        )
        outcomes[key] = outcome_from_response(
            key, response, mode="batch", latency_ms=elapsed_ms, batch_job=job.name
        )
    return [
        outcomes.get(k)
        or RequestOutcome(
            key=k,
            mode="batch",
            status="error",
            error="no line in the results file",
            batch_job=job.name,
            billed=False,
        )
        for k in keys
    ]


def delete_files(client: genai.Client, names: list[str]) -> None:
    """Best effort: the service deletes them after 48 h anyway."""
    for name in names:
        try:
            client.files.delete(name=name)
        except Exception:  # noqa: BLE001 - cleanup must not fail a run that has its results
            continue
