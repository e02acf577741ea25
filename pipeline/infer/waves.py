"""Waves of batch jobs under the service's caps (pure: no client, no storage).

Gemini's Batch Mode limits each job (inline requests under 20 MB in total, a JSONL input file up to
2 GB), the project's unfinished jobs (100) and the input tokens enqueued per model (by usage tier):
pipeline/catalog/models.json `transport`. A night bigger than that goes in waves: `plan_jobs` splits a
model's requests into jobs that each fit, `next_wave` picks the jobs that fit beside the ones in flight,
and the infer stage submits them, collects what finishes and asks again.

The split must be the same on every run of the same requests: the batch ledger finds a job again by its
group (sorted keys + model), so a rerun or a restarted crashed run re-attaches to the jobs it created.
`plan_jobs` therefore packs requests in key order, and the stage plans over all of a model's requests
(answered or not) and only then drops what is answered or in flight.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipeline.catalog import transport_limits
from pipeline.errors import ConfigError, GeminiTransientError


class WaveFullError(GeminiTransientError):
    """The service refused a batch create with 429 RESOURCE_EXHAUSTED (an enqueued-token or job cap):
    wait for a job in flight to finish, then submit again."""


@dataclass(frozen=True)
class Sized:
    """One request as the planner sees it: its estimated prompt tokens and its bytes in the job."""

    key: str
    tokens: int
    wire_bytes: int


@dataclass(frozen=True)
class Job:
    model: str
    keys: tuple[str, ...]
    tokens: int


def plan_jobs(
    requests: Iterable[Sized], *, max_job_bytes: int, max_job_tokens: int | None = None
) -> list[list[str]]:
    """Pack requests (in key order) into jobs of at most `max_job_bytes` and `max_job_tokens` each. A
    request alone over a limit gets a job of its own (the caller decides how it travels)."""
    jobs: list[list[str]] = []
    size = tokens = 0
    for request in sorted(requests, key=lambda r: r.key):
        over_bytes = size + request.wire_bytes > max_job_bytes
        over_tokens = max_job_tokens is not None and tokens + request.tokens > max_job_tokens
        if not jobs or over_bytes or over_tokens:
            jobs.append([])
            size = tokens = 0
        jobs[-1].append(request.key)
        size += request.wire_bytes
        tokens += request.tokens
    return jobs


def next_wave(
    todo: Iterable[Job], in_flight: Iterable[Job], *, max_jobs: int, token_caps: Mapping[str, int | None]
) -> list[Job]:
    """The jobs of `todo` (in order) that fit beside `in_flight`: at most `max_jobs` unfinished jobs in
    all, and per model at most `token_caps[model]` enqueued tokens (None: no cap). A job over its cap on
    its own goes only when nothing of its model is in flight (it can never fit better)."""
    flying = list(in_flight)
    count = len(flying)
    enqueued: Counter[str] = Counter()
    for job in flying:
        enqueued[job.model] += job.tokens
    wave: list[Job] = []
    for job in todo:
        if count >= max_jobs:
            break
        cap = token_caps.get(job.model)
        if cap is not None and enqueued[job.model] and enqueued[job.model] + job.tokens > cap:
            continue
        wave.append(job)
        count += 1
        enqueued[job.model] += job.tokens
    return wave


def max_jobs_in_flight(setting: int | None) -> int:
    return setting or transport_limits().batch_max_jobs_in_flight


def enqueued_token_cap(setting: str, model: str) -> int | None:
    """The enqueued-token cap for `model`: `setting` is a tier of the catalog, a number, or `none`."""
    if setting == "none":
        return None
    if setting.isdigit():
        return int(setting)
    caps = transport_limits().batch_enqueued_tokens
    try:
        return caps.cap(setting, model)
    except KeyError:
        raise ConfigError(
            f"batch_enqueued_token_cap={setting!r} is no tier of pipeline/catalog/models.json "
            f"(known: {sorted(caps.tiers)}): name one, a number of tokens, or none"
        ) from None
