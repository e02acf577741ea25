"""Gemini Batch Mode with inline requests: submit under the 20 MB inline cap, wait, collect.

Creating a batch job is not idempotent (a second create pays again), so the infer stage records every job
name in its staging ledger right after `create` and re-attaches to it on a retry."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from google.genai import types

from pipeline.errors import BatchJobFailedError, GeminiTransientError
from pipeline.gemini.client import GeminiClient
from pipeline.gemini.polling import PollingRule
from pipeline.infer.outcomes import now_iso, outcome_from_response
from pipeline.infer.requests import ChunkRequest, contents
from pipeline.run.state import RequestOutcome
from pipeline.tasks import Task

TERMINAL_FAILURES = {"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
# base64 grows payloads by 4/3; keep headroom for the JSON around them.
_BASE64_OVERHEAD = 4 / 3
_JSON_OVERHEAD_BYTES = 4096


def inline_wire_bytes(data_bytes: int, prompt: str) -> int:
    """What one inline request weighs on the wire: base64 media plus prompt and JSON."""
    return int(data_bytes * _BASE64_OVERHEAD) + len(prompt.encode()) + _JSON_OVERHEAD_BYTES


# A signed S3 URL (SigV4 query string included) and its fileData wrapper.
_SIGNED_URL_BYTES = 2048


def url_wire_bytes(prompt: str) -> int:
    """What one request whose media is a signed URL weighs on the wire."""
    return _SIGNED_URL_BYTES + len(prompt.encode()) + _JSON_OVERHEAD_BYTES


def state_name(job: types.BatchJob) -> str:
    return str(getattr(job.state, "name", job.state))


def submit_inline(
    client: GeminiClient,
    *,
    model: str,
    task: Task,
    requests: list[ChunkRequest],
    config: types.GenerateContentConfig,
    display_name: str,
) -> str:
    inlined = [
        types.InlinedRequest(
            contents=contents(task, r, model, prompt_cached=bool(config.cached_content)),
            config=config,
            metadata={"key": r.key},
        )
        for r in requests
    ]
    return str(client.create_batch(model, inlined, display_name).name)


def wait(
    client: GeminiClient,
    name: str,
    *,
    polling: PollingRule,
    timeout_seconds: float,
    on_state: Callable[[str, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> types.BatchJob:
    """Poll by `polling` until the job is done. Raises BatchJobFailedError for FAILED/CANCELLED/EXPIRED
    and when it is not done after `timeout_seconds` (0: look once)."""
    started = time.monotonic()
    delays = polling.delays()
    if timeout_seconds > 0:
        sleep(next(delays))
    while True:
        try:
            job: types.BatchJob | None = client.get_batch(name)
        except GeminiTransientError:
            job = None  # looked at again on the next round
        if job is not None:
            state = state_name(job)
            if on_state:
                on_state(state, time.monotonic() - started)
            if state in TERMINAL_FAILURES:
                detail = job.error.message if job.error else "no detail given"
                raise BatchJobFailedError(
                    f"batch job {name} ended {state}: {detail}", job_name=name, state=state
                )
            if job.done or state == "JOB_STATE_SUCCEEDED":
                return job
        if time.monotonic() - started > timeout_seconds:
            raise BatchJobFailedError(
                f"batch job {name} not done after {timeout_seconds:.0f}s; it keeps running and a retry re-attaches",
                job_name=name,
                state="TIMEOUT",
            )
        sleep(next(delays))


def turnaround(job: types.BatchJob, submitted_at: datetime | None = None) -> tuple[int | None, str]:
    """A batch request's latency: from the job's creation (or our submission) to its end, in ms, and
    the UTC time its answers arrived (which picks their price window)."""
    end = job.end_time or job.update_time
    start = job.create_time or submitted_at
    answered = end.astimezone(UTC).isoformat() if end else now_iso()
    if end is None or start is None:
        return None, answered
    return max(0, int((end - start).total_seconds() * 1000)), answered


def collect(
    job: types.BatchJob,
    keys: list[str],
    *,
    thinking: Mapping[str, str | None] | None = None,
    submitted_at: datetime | None = None,
) -> list[RequestOutcome]:
    """One outcome per submitted key; a key missing from the output becomes an error outcome."""
    latency, answered = turnaround(job, submitted_at)
    thinking = thinking or {}
    outcomes: dict[str, RequestOutcome] = {}
    responses = (job.dest.inlined_responses if job.dest else None) or []
    for position, item in enumerate(responses):
        key = (item.metadata or {}).get("key") or (keys[position] if position < len(keys) else f"#{position}")
        if item.error is not None:
            outcomes[key] = RequestOutcome(
                key=key,
                mode="batch",
                status="error",
                error=f"{item.error.code}: {item.error.message}",
                batch_job=job.name,
                billed=False,
                latency_ms=latency,
                answered_at=answered,
            )
        elif item.response is not None:
            outcomes[key] = outcome_from_response(
                key,
                item.response,
                mode="batch",
                latency_ms=latency,
                batch_job=job.name,
                thinking=thinking.get(key),
                answered_at=answered,
            )
    return [outcomes.get(k) or missing(job, k, "no response in batch output") for k in keys]


def answered(
    job: types.BatchJob, keys: list[str], *, thinking: Mapping[str, str | None] | None = None
) -> list[RequestOutcome]:
    """The outcomes a job that ended without success (EXPIRED, FAILED) still holds: the keys it
    answered before it ended; the others have none (they are sent again)."""
    responses = (job.dest.inlined_responses if job.dest else None) or []
    present = {(item.metadata or {}).get("key") for item in responses}
    return [o for o in collect(job, keys, thinking=thinking) if o.key in present]


def missing(job: types.BatchJob, key: str, why: str) -> RequestOutcome:
    return RequestOutcome(key=key, mode="batch", status="error", error=why, batch_job=job.name, billed=False)
