"""The rows one run contributes to each table, built from its manifest (no I/O).

Costs are exact: per-request usage x the price table, summed per source and per run from the same
Decimals, so media.cost_usd, requests.cost_usd and runs.cost_usd always add up.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from pipeline.catalog import price_table, resolve_model_version
from pipeline.cost import cache_storage_cost, request_cost, tier_for_mode
from pipeline.gemini.caching import PromptCache
from pipeline.gemini.outcomes import RequestOutcome
from pipeline.models import ItemStatus
from pipeline.runner.state import ItemState, QuarantineRow, RunManifest

Row = dict[str, Any]
ZERO = Decimal("0E-9")


def billed_model(requested: str, model_version: str | None) -> str:
    """The catalog model whose rates a request is priced at: the one that answered (its `modelVersion`),
    or the requested one when the service named none or a version the catalog does not know."""
    return resolve_model_version(model_version) or requested


def request_rows(manifest: RunManifest, on: date) -> tuple[list[Row], dict[str, Decimal]]:
    """One row per request attempt paid (or refused) in this run, and the cost per source. Earlier
    attempts of a retried request (`manifest.history`) were billed too, so they are rows as well. Each
    is priced at the model that answered, in the price window of the day its answer arrived (`on` when
    that is not recorded)."""
    rows: list[Row] = []
    per_source: dict[str, Decimal] = defaultdict(Decimal)
    attempts = [*manifest.history, *manifest.outcomes.values()]
    fallback = datetime.combine(on, time(), tzinfo=UTC)
    for doc in sorted(attempts, key=lambda d: (d["key"], int(d.get("attempt") or 1))):
        key = doc["key"]
        outcome = RequestOutcome.from_dict(doc)
        fact = manifest.requests.get(key, {})
        model = fact.get("model") or manifest.model  # a split video's sound has a model of its own
        priced = billed_model(model, outcome.model_version)
        answered = outcome.answered_on(fallback)
        cost, version = request_cost(
            priced, outcome.usage, tier=tier_for_mode(outcome.mode), on=answered.astimezone(UTC).date()
        )
        if not outcome.billed:
            cost = ZERO
        per_source[fact.get("source_uri", "")] += cost
        u = outcome.usage
        rows.append(
            {
                "run_id": manifest.run_id,
                "request_key": key,
                "attempt": int(doc.get("attempt") or 1),
                "source_uri": fact.get("source_uri", ""),
                "chunk_index": fact.get("chunk_index"),
                "chunk_start_s": fact.get("chunk_start_s"),
                "chunk_end_s": fact.get("chunk_end_s"),
                "model": model,
                "model_version": outcome.model_version,
                "billed_model": priced,
                "thinking_level": outcome.thinking,
                "answered_at": answered if outcome.answered_at else None,
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
                "reask_of": fact.get("reask_of"),
            }
        )
    return rows, per_source


def cache_storage_rows(manifest: RunManifest, on: date) -> list[Row]:
    """The prompt cache's storage, billed per token-hour for as long as the run held it."""
    if not manifest.prompt_cache:
        return []
    cache = PromptCache.model_validate(manifest.prompt_cache)
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


def media_row(manifest: RunManifest, item: ItemState, cost_usd: Decimal) -> Row:
    probe = item.probe
    return {
        "run_id": manifest.run_id,
        "source_uri": item.source.uri,
        "sha256": item.source.sha256 or None,
        "etag": item.source.etag,
        "media_type": (probe.media_type.value if probe else item.source.sniffed_type.value),
        "mime_type": item.source.sniffed_mime,
        "bytes": item.source.bytes,
        "duration_s": probe.duration_s if probe else None,
        "width": probe.width if probe else None,
        "height": probe.height if probe else None,
        "status": item.status.value,
        "reason": item.reason,
        "error": item.error,
        "chunks": item.chunk_count() if item.active or item.status == ItemStatus.QUARANTINED else 0,
        "estimated_cost_usd": Decimal(item.estimated_cost_usd),
        "estimated_cost_upper_usd": Decimal(item.estimated_cost_upper_usd),
        "cost_usd": cost_usd,
        "reused_from_run_id": item.reused_from_run_id,
    }


def answer_rows(manifest: RunManifest, item: ItemState) -> tuple[list[Row], list[Row]]:
    """The item's annotation row and segment rows (none unless it is ok and answered)."""
    if item.status != ItemStatus.OK or item.answer is None:
        return [], []
    uri, answer, probe = item.source.uri, item.answer, item.probe
    annotation = {
        "run_id": manifest.run_id,
        "source_uri": uri,
        "sha256": item.source.sha256,
        "media_type": probe.media_type.value if probe else None,
        "summary": answer["summary"],
        "tags": answer["tags"],
        "language": answer["language"],
        "model": manifest.model,
        "task": manifest.task,
        "task_version": manifest.task_version,
        "answer_json": json.dumps(answer["answers"]),
    }
    segments = [
        {
            "run_id": manifest.run_id,
            "source_uri": uri,
            "segment_index": index,
            "start_s": span["start_s"],
            "end_s": span["end_s"],
            "label": span["label"],
            "description": span["description"],
            "chunk_indexes": span.get("chunk_indexes"),
        }
        for index, span in enumerate(answer["spans"])
    ]
    return [annotation], segments


def failed_item_rows(manifest: RunManifest) -> list[QuarantineRow]:
    return [
        QuarantineRow(
            source_uri=i.source.uri, stage=i.stage or "probe", reason=i.reason or "failed", detail=i.error
        )
        for i in manifest.items
        if i.status == ItemStatus.FAILED
    ]


def failure_share(manifest: RunManifest) -> float:
    bad = sum(1 for i in manifest.items if i.status in (ItemStatus.FAILED, ItemStatus.QUARANTINED))
    return bad / len(manifest.items) if manifest.items else 0.0


def run_row(
    manifest: RunManifest,
    *,
    on: date,
    finished_at: datetime,
    requests: list[Row],
    max_failure_share: float,
    validation_success: bool | None,
) -> Row:
    counts = {s: sum(1 for i in manifest.items if i.status == s) for s in ItemStatus}
    share = failure_share(manifest)
    if share > max_failure_share or validation_success is False:
        status = "failed_quality"
    elif counts[ItemStatus.FAILED] + counts[ItemStatus.QUARANTINED]:
        status = "succeeded_with_failures"
    else:
        status = "succeeded"
    return {
        "run_id": manifest.run_id,
        "started_at": manifest.started_at,
        "finished_at": finished_at,
        "model": manifest.model,
        "task": manifest.task,
        "task_version": manifest.task_version,
        "mode": manifest.mode,
        "source": manifest.source,
        "items_total": len(manifest.items),
        "items_ok": counts[ItemStatus.OK],
        "items_failed": counts[ItemStatus.FAILED],
        "items_duplicate": counts[ItemStatus.DUPLICATE],
        "items_quarantined": counts[ItemStatus.QUARANTINED],
        "items_reused": sum(1 for i in manifest.items if i.reused_from_run_id and i.status == ItemStatus.OK),
        "requests": len(requests),
        "requests_reasked": sum(1 for r in requests if r.get("reask_of")),
        "estimated_cost_usd": Decimal(manifest.estimated_cost_usd),
        "estimated_cost_upper_usd": Decimal(manifest.estimated_cost_upper_usd),
        "estimate_basis": manifest.estimate_basis,
        "cost_usd": sum((r["cost_usd"] for r in requests), ZERO),
        "thought_tokens": sum(int(r.get("thought_tokens") or 0) for r in requests),
        "routed_requests": sum(r["requests"] for r in routed(requests)),
        "routed": routed(requests),
        "latency": latency_stats(requests),
        "warnings": list(manifest.warnings),
        "budget_usd": Decimal(str(manifest.budget_usd)) if manifest.budget_usd is not None else None,
        "price_table_version": price_table().version,
        "status": status,
        "failure_share": round(share, 6),
        "validation_success": validation_success,
    }
