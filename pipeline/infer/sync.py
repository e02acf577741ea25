"""Sync mode: concurrent `generate_content` calls under a client-side RPM/TPM limiter, retrying
408/429/5xx and transport errors with jittered exponential backoff (or the server's RetryInfo delay).

A request the service refuses (GeminiRequestError) becomes a failed outcome for its item; an error
about the whole run (a refused API key, a daily quota used up, a model not served) stops the run: what
was answered before it is already handed to `on_outcome`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from google.genai import types

from pipeline.errors import GeminiRequestError, GeminiTransientError
from pipeline.gemini.client import GeminiClient
from pipeline.infer.outcomes import now_iso, outcome_from_response
from pipeline.infer.ratelimit import RateLimiter
from pipeline.infer.requests import ChunkRequest, contents
from pipeline.infer.retry import backoff_delay, server_retry_delay
from pipeline.run.state import RequestOutcome
from pipeline.tasks import Task


@dataclass(frozen=True)
class SyncPolicy:
    concurrency: int = 4
    rpm: int | None = None
    tpm: int | None = None
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0


@dataclass(frozen=True)
class SyncCall:
    """What every request of one `run_sync` shares."""

    client: GeminiClient
    model: str
    task: Task
    config: types.GenerateContentConfig
    thinking: str | None = None  # the effective thinking level, recorded on each outcome


def _call(call: SyncCall, request: ChunkRequest, policy: SyncPolicy, limiter: RateLimiter) -> RequestOutcome:
    body = contents(call.task, request, call.model, prompt_cached=bool(call.config.cached_content))
    for attempt in range(1, policy.max_attempts + 1):
        limiter.acquire(request.estimated_prompt_tokens)
        started = time.monotonic()
        try:
            response = call.client.generate(call.model, body, call.config)
        except (GeminiRequestError, GeminiTransientError) as err:
            if isinstance(err, GeminiTransientError) and attempt < policy.max_attempts:
                told = server_retry_delay(err.__cause__)
                if told is not None:
                    limiter.pause(told)  # every worker backs off, not just this one
                    time.sleep(told)
                else:
                    time.sleep(backoff_delay(attempt, base=policy.backoff_base_s, cap=policy.backoff_cap_s))
                continue
            # This request's failure; anything about the whole run (key, quota, model) or a bug is
            # not caught here and stops the run, loudly.
            return RequestOutcome(
                key=request.key,
                mode="sync",
                status="error",
                error=f"request {request.key}: {err}",
                billed=False,
                answered_at=now_iso(),
                thinking=call.thinking,
            )
        latency = int((time.monotonic() - started) * 1000)
        return outcome_from_response(
            request.key, response, mode="sync", latency_ms=latency, thinking=call.thinking
        )
    raise AssertionError("unreachable: the last attempt returns")


def run_sync(
    call: SyncCall,
    requests: Iterable[ChunkRequest],
    *,
    policy: SyncPolicy | None = None,
    on_outcome: Callable[[RequestOutcome], None] | None = None,
) -> list[RequestOutcome]:
    """One outcome per request, in order. Never raises for a single request's failure.

    `requests` is consumed lazily, a few ahead of the workers, so a long run never holds every chunk's
    bytes at once; `on_outcome` sees each outcome as it arrives (in this thread), so the caller can
    record what it paid for before the rest is done."""
    policy = policy or SyncPolicy()
    limiter = RateLimiter(policy.rpm, policy.tpm)
    workers = max(1, policy.concurrency)
    results: dict[int, RequestOutcome] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        in_flight: dict[Future[RequestOutcome], int] = {}

        failure: list[BaseException] = []

        def drain(block_until: int) -> None:
            while len(in_flight) > block_until:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    position = in_flight.pop(future)
                    if future.cancelled():
                        continue
                    if (error := future.exception()) is not None:
                        if not failure:  # nothing new starts; calls already running still count
                            failure.append(error)
                            for other in in_flight:
                                other.cancel()
                            block_until = 0
                        continue
                    results[position] = future.result()
                    if on_outcome is not None:
                        on_outcome(results[position])
            if failure:
                raise failure[0]

        for position, request in enumerate(requests):
            in_flight[pool.submit(_call, call, request, policy, limiter)] = position
            drain(2 * workers)
        drain(0)
    return [results[i] for i in range(len(results))]
