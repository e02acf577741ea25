"""Batch Mode through the Files API, for batches too big to send inline (> 20 MB): each chunk is
uploaded (resumable) and referenced by URI, unless it travels by signed URL (then its line holds the
URL and nothing is uploaded for it), the requests go in a JSONL file, the results come back as a JSONL
file. Uploaded files are deleted after collection (they would expire after 48 h anyway).

Only the SDK's public API is used: the JSONL lines are the same `types.Content` / config objects a
direct call sends, serialised by `pipeline.infer.requests.rest_request`, and result lines are parsed
with `types.GenerateContentResponse.model_validate`."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
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
# Uploads and deletes are network-bound: a few at a time keeps the link busy while a worker holds at most
# this many chunks' bytes (plus as many queued) in memory.
UPLOAD_CONCURRENCY = 8
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
    return wait_active(client, [file], sleep=sleep)[0]


def wait_active(
    client: GeminiClient,
    files: list[types.File],
    *,
    pool: ThreadPoolExecutor | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[types.File]:
    """Wait until no file is PROCESSING: one look at every file still processing per round, on the
    Files polling rule (not one file after the other). Returns the files as they ended, in order."""
    latest = {str(f.name): f for f in files}
    processing = [name for name, f in latest.items() if _state(f) == "PROCESSING"]
    started, delays = time.monotonic(), FILE_POLLING.delays()
    while processing:
        if time.monotonic() - started > FILE_ACTIVE_TIMEOUT_S:
            raise GeminiTransientError(
                f"{len(processing)} uploaded file(s) still PROCESSING after {FILE_ACTIVE_TIMEOUT_S:.0f}s "
                f"(first: {processing[0]})"
            )
        sleep(next(delays))
        looked = pool.map(client.get_file, processing) if pool else map(client.get_file, processing)
        for file in looked:
            latest[str(file.name)] = file
        processing = [name for name in processing if _state(latest[name]) == "PROCESSING"]
    ended = [latest[str(f.name)] for f in files]
    refused = [f for f in ended if _state(f) != "ACTIVE"]
    if refused:
        # The service processed the bytes and refused them: these requests' media, not the run.
        raise GeminiRequestError(
            "the Files API rejected "
            + ", ".join(f"{f.display_name or f.name} ({f.name} is {f.state}: {f.error})" for f in refused)
        )
    return ended


def _upload_chunks(
    client: GeminiClient,
    requests: Iterable[ChunkRequest],
    display_name: str,
    pool: ThreadPoolExecutor,
    concurrency: int,
) -> list[tuple[ChunkRequest, types.File | None]]:
    """Upload every chunk, `concurrency` at a time; `requests` is consumed lazily, so at most a few
    chunks' bytes are held at once. Each request comes back without its bytes (the file holds them);
    a request by signed URL is not uploaded (None: the service fetches it)."""

    def one(request: ChunkRequest) -> tuple[ChunkRequest, types.File | None]:
        if request.url is not None:
            return request, None
        file = client.upload_file(
            request.data, mime_type=request.mime_type, display_name=f"{display_name}-{request.key}"
        )
        return replace(request, data=b""), file

    done: dict[int, tuple[ChunkRequest, types.File | None]] = {}
    in_flight: dict[Future[tuple[ChunkRequest, types.File | None]], int] = {}

    def drain(keep: int) -> None:
        while len(in_flight) > keep:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                done[in_flight.pop(future)] = future.result()  # an upload's error stops the submission

    try:
        for position, request in enumerate(requests):
            in_flight[pool.submit(one, request)] = position
            drain(concurrency)
        drain(0)
    finally:
        for future in in_flight:
            future.cancel()
    return [done[i] for i in range(len(done))]


def submit(
    client: GeminiClient,
    *,
    model: str,
    task: Task,
    requests: Iterable[ChunkRequest],
    config: types.GenerateContentConfig,
    display_name: str,
    concurrency: int = UPLOAD_CONCURRENCY,
) -> tuple[str, list[str]]:
    """Upload every chunk (`concurrency` at a time) and wait for them in one polling pass, then the
    JSONL, then create the job. Returns (job name, uploaded file names)."""
    cached = bool(config.cached_content)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="files-upload") as pool:
        uploaded = _upload_chunks(client, requests, display_name, pool, concurrency)
        active = wait_active(client, [file for _, file in uploaded if file is not None], pool=pool)
    by_name = {str(file.name): file for file in active}
    lines = [
        json.dumps(
            {
                "key": request.key,
                "request": rest_request(
                    contents(
                        task,
                        request,
                        model,
                        prompt_cached=cached,
                        file_uri=by_name[str(file.name)].uri if file is not None else None,
                    ),
                    config,
                ),
            }
        )
        for request, file in uploaded
    ]
    jsonl = upload(
        client, ("\n".join(lines) + "\n").encode(), mime_type="jsonl", display_name=f"{display_name}.jsonl"
    )
    names = [str(file.name) for file in active] + [str(jsonl.name)]
    job = client.create_batch(model, str(jsonl.name), display_name)
    return str(job.name), names


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
    for raw_line in io.BytesIO(raw):  # one line at a time: a results file can be large
        if not raw_line.strip():
            continue
        doc = json.loads(raw_line)
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


def delete_files(
    client: GeminiClient, names: list[str], *, concurrency: int = UPLOAD_CONCURRENCY
) -> list[str]:
    """Delete uploaded files, `concurrency` at a time; returns the ones that could not be deleted (they
    expire after 48 h and cost nothing meanwhile, so a refusal is logged, not raised: the run has its
    results). Anything that is not a service refusal propagates."""

    def one(name: str) -> str | None:
        try:
            client.delete_file(name)
        except PipelineError as err:
            log.warning("%s", err)
            return name
        return None

    if not names:
        return []
    with ThreadPoolExecutor(
        max_workers=min(concurrency, len(names)), thread_name_prefix="files-delete"
    ) as pool:
        return [name for name in pool.map(one, names) if name is not None]
