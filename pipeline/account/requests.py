"""What each request cost: usage priced at the model that answered, in the window of the day its answer
arrived; the prompt cache's storage; request latency and routing per run."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Set
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from pipeline.account.pricing import cache_storage_cost, request_cost, tier_for_mode
from pipeline.catalog import resolve_model_version
from pipeline.run.state import RunManifest

Row = dict[str, Any]
ZERO = Decimal("0E-9")


def billed_model(requested: str, model_version: str | None) -> str:
    """The catalog model whose rates a request is priced at: the one that answered (its `modelVersion`),
    or the requested one when the service named none or a version the catalog does not know."""
    return resolve_model_version(model_version) or requested


Attempt = tuple[str, str]


def attempt_id(request_key: str, batch_job: str | None, answered_at: object) -> Attempt | None:
    """What one paid attempt is, whichever run records it: a batch answer by its job (two runs that
    collect one job got one bill), a sync answer by the moment it arrived (a run that takes another
    run's answer from the request ledger holds the same document). None when neither is known."""
    if batch_job:
        return request_key, f"job:{batch_job}"
    if not isinstance(answered_at, datetime):
        return None
    # to the millisecond, in UTC: what a Parquet timestamp keeps of the recorded time, whatever its unit
    return request_key, "at:" + answered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def billed_attempts(rows: Iterable[Mapping[str, Any]]) -> set[Attempt]:
    """The attempts committed rows already charge for (cost above zero)."""
    found = (
        attempt_id(r["request_key"], r.get("batch_job"), r.get("answered_at"))
        for r in rows
        if r.get("cost_usd") and Decimal(str(r["cost_usd"])) > 0 and r.get("mode") != "cache"
    )
    return {a for a in found if a is not None}


def request_rows(
    manifest: RunManifest, on: date, billed_elsewhere: Set[Attempt] = frozenset()
) -> tuple[list[Row], dict[str, Decimal]]:
    """One row per request attempt paid (or refused) in this run, and the cost per source. Earlier
    attempts of a retried request (`manifest.history`) were billed too, so they are rows as well. Each
    is priced at the model that answered, in the price window of the day its answer arrived (`on` when
    that is not recorded). An attempt in `billed_elsewhere` (an overlapping or earlier run of the date
    committed its bill: it re-attached to that run's job or took its answer) is a row at cost 0, so
    the date's `requests` rows add up to what the service billed once."""
    rows: list[Row] = []
    per_source: dict[str, Decimal] = defaultdict(Decimal)
    attempts = [*manifest.history, *manifest.outcomes.values()]
    fallback = datetime.combine(on, time(), tzinfo=UTC)
    for outcome in sorted(attempts, key=lambda o: (o.key, o.attempt)):
        key = outcome.key
        fact = manifest.requests.get(key)
        model = fact.model if fact else manifest.model  # a split video's sound has a model of its own
        priced = billed_model(model, outcome.model_version)
        answered = outcome.answered_on(fallback)
        cost, version = request_cost(
            priced, outcome.usage, tier=tier_for_mode(outcome.mode), on=answered.astimezone(UTC).date()
        )
        stamp = answered if outcome.answered_at else None
        if not outcome.billed or (attempt_id(key, outcome.batch_job, stamp) in billed_elsewhere):
            cost = ZERO
        per_source[fact.source_uri if fact else ""] += cost
        u = outcome.usage
        rows.append(
            {
                "run_id": manifest.run_id,
                "request_key": key,
                "attempt": outcome.attempt,
                "source_uri": fact.source_uri if fact else "",
                "chunk_index": fact.chunk_index if fact else None,
                "chunk_start_s": fact.chunk_start_s if fact else None,
                "chunk_end_s": fact.chunk_end_s if fact else None,
                "model": model,
                "model_version": outcome.model_version,
                "billed_model": priced,
                "thinking_level": outcome.thinking,
                "answered_at": stamp,
                "mode": outcome.mode,
                "batch_job": outcome.batch_job,
                "status": outcome.status,
                "finish_reason": outcome.finish_reason,
                "error": outcome.error,
                "prompt_tokens_text": u.text,
                "prompt_tokens_image": u.image,
                "prompt_tokens_video": u.video,
                "prompt_tokens_audio": u.audio,
                "cached_tokens": u.cached,
                "output_tokens": u.output,
                "thought_tokens": u.thoughts,
                "latency_ms": outcome.latency_ms,
                "cost_usd": cost,
                "price_table_version": version,
                "reask_of": fact.reask_of if fact else None,
            }
        )
    return rows, per_source


def cache_storage_rows(manifest: RunManifest, on: date) -> list[Row]:
    """The prompt cache's storage, billed per token-hour for as long as the run held it."""
    cache = manifest.prompt_cache
    if cache is None:
        return []
    cost, version = cache_storage_cost(
        manifest.model, cache.tokens, cache.held_seconds(), on=cache.created_at.astimezone(UTC).date()
    )
    return [
        {
            "run_id": manifest.run_id,
            "request_key": "prompt-cache",
            "attempt": 1,
            "source_uri": manifest.source,
            "model": manifest.model,
            "billed_model": manifest.model,
            "mode": "cache",
            "batch_job": cache.name,
            "status": "ok",
            "cached_tokens": cache.tokens,
            "latency_ms": int(cache.held_seconds() * 1000),
            "cost_usd": cost,
            "price_table_version": version,
        }
    ]


def percentile(values: list[int], share: float) -> int:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latency_stats(requests: list[Row]) -> list[Row]:
    """p50 / p95 / p99 request latency per (mode, answering model): sync calls are one HTTP round trip
    each; a batch request's latency is its job's turnaround (creation to end)."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in requests:
        if r.get("mode") in ("sync", "batch") and r.get("latency_ms") is not None:
            groups[(r["mode"], r.get("billed_model") or r["model"])].append(int(r["latency_ms"]))
    return [
        {
            "mode": mode,
            "model": model,
            "requests": len(values),
            "p50_ms": percentile(values, 0.50),
            "p95_ms": percentile(values, 0.95),
            "p99_ms": percentile(values, 0.99),
        }
        for (mode, model), values in sorted(groups.items())
    ]


def routed(requests: list[Row]) -> list[Row]:
    """Requests answered by another model than the one asked: (requested, answered) -> count."""
    counts: Counter[tuple[str, str]] = Counter(
        (r["model"], r["billed_model"])
        for r in requests
        if r.get("mode") != "cache" and r.get("billed_model") and r["billed_model"] != r["model"]
    )
    return [{"requested": a, "answered": b, "requests": n} for (a, b), n in sorted(counts.items())]
