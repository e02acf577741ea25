"""validate + commit + account: answers checked and stitched, every table's partition written, costs
summed exactly from per-request costs."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from pipeline.catalog import price_table
from pipeline.cost import request_cost
from pipeline.gemini.outcomes import RequestOutcome
from pipeline.models import ItemStatus
from pipeline.runner.answers import answer_item, ledger_entry
from pipeline.runner.context import RunContext
from pipeline.runner.state import QuarantineRow, RunManifest
from pipeline.tables import write_partition


class RunSummary(BaseModel):
    run_id: str
    dt: str
    dest: str
    status: str
    items_total: int
    items_ok: int
    items_failed: int
    items_duplicate: int
    items_quarantined: int
    items_reused: int
    requests: int
    estimated_cost_usd: Decimal
    cost_usd: Decimal
    failures: list[tuple[str, str]]


def stage_validate(ctx: RunContext) -> RunManifest:
    manifest = ctx.load()
    manifest.quarantine = [q for q in manifest.quarantine if q.stage not in ("infer", "validate")]
    for item in manifest.items:
        if item.active:
            manifest.quarantine.extend(answer_item(ctx.task, manifest, item))
    manifest.stages_done.append("validate")
    ctx.save(manifest)
    return manifest


def _request_rows(manifest: RunManifest, on) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:  # noqa: ANN001
    rows: list[dict[str, Any]] = []
    per_source: dict[str, Decimal] = defaultdict(Decimal)
    for key, doc in sorted(manifest.outcomes.items()):
        outcome = RequestOutcome.from_dict(doc)
        fact = manifest.requests.get(key, {})
        cost, version = request_cost(manifest.model, outcome.usage, batch=outcome.mode == "batch", on=on)
        if not outcome.billed:
            cost = Decimal("0E-9")
        per_source[fact.get("source_uri", "")] += cost
        u = outcome.usage
        rows.append(
            {
                "run_id": manifest.run_id,
                "request_key": key,
                "source_uri": fact.get("source_uri", ""),
                "chunk_index": fact.get("chunk_index"),
                "chunk_start_s": fact.get("chunk_start_s"),
                "chunk_end_s": fact.get("chunk_end_s"),
                "model": manifest.model,
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
            }
        )
    return rows, per_source


def stage_commit(ctx: RunContext) -> RunSummary:
    manifest = ctx.load()
    dt = manifest.dt
    on = ctx.dt
    request_rows, cost_by_source = _request_rows(manifest, on)
    media_rows, annotation_rows, segment_rows = [], [], []
    quarantine: list[QuarantineRow] = list(manifest.quarantine)
    for item in manifest.items:
        uri = item.source.uri
        if item.status == ItemStatus.FAILED:
            quarantine.append(QuarantineRow(source_uri=uri, stage=item.stage or "probe", reason=item.reason or "failed", detail=item.error))
        probe = item.probe
        media_rows.append(
            {
                "run_id": manifest.run_id,
                "source_uri": uri,
                "sha256": item.source.sha256 or None,
                "etag": item.source.etag,
                "media_type": (probe.media_type.value if probe else item.source.sniffed_type.value),
                "mime_type": item.source.sniffed_mime,
                "bytes": item.source.bytes,
                "duration_s": probe.duration_s if probe else None,
                "width": probe.width if probe else None,
                "height": probe.height if probe else None,
                "status": item.status.value,
                "error": item.error,
                "chunks": len(item.prepared) if item.active or item.status == ItemStatus.QUARANTINED else 0,
                "estimated_cost_usd": Decimal(item.estimated_cost_usd),
                "cost_usd": cost_by_source.get(uri, Decimal("0E-9")),
                "reused_from_run_id": item.reused_from_run_id,
            }
        )
        if item.status != ItemStatus.OK or item.answer is None:
            continue
        answer = item.answer
        annotation_rows.append(
            {
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
        )
        for index, span in enumerate(answer["spans"]):
            segment_rows.append(
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
            )
        if item.reused_from_run_id is None:
            ctx.store.put_json(ctx.answer_ledger(item.source.sha256), ledger_entry(manifest, item))
    quarantine_rows = [{"run_id": manifest.run_id, **q.model_dump()} for q in quarantine]
    counts = {s: sum(1 for i in manifest.items if i.status == s) for s in ItemStatus}
    total_cost = sum((r["cost_usd"] for r in request_rows), Decimal("0E-9"))
    status = "succeeded" if counts[ItemStatus.FAILED] + counts[ItemStatus.QUARANTINED] == 0 else "succeeded_with_failures"
    run_row = {
        "run_id": manifest.run_id,
        "started_at": manifest.started_at,
        "finished_at": datetime.now(UTC),
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
        "requests": len(request_rows),
        "estimated_cost_usd": Decimal(manifest.estimated_cost_usd),
        "cost_usd": total_cost,
        "budget_usd": Decimal(str(manifest.budget_usd)) if manifest.budget_usd is not None else None,
        "price_table_version": price_table(on).version,
        "status": status,
    }
    tables = {
        "requests": request_rows,
        "media": media_rows,
        "annotations": annotation_rows,
        "segments": segment_rows,
        "quarantine": quarantine_rows,
        "runs": [run_row],  # last: a runs row means the run's partitions are all written
    }
    ctx.progress.start("commit", len(tables))
    for name, rows in tables.items():
        write_partition(ctx.store, ctx.dest, name, dt, manifest.run_id, rows)
        ctx.progress.advance("commit", f"{name}: {len(rows)} row(s)")
    for item in manifest.items:
        if item.prepared and item.fingerprint:
            ctx.store.delete_prefix(ctx.chunk_prefix(item))
    manifest.stages_done.append("commit")
    ctx.save(manifest)
    return RunSummary(
        run_id=manifest.run_id,
        dt=dt,
        dest=ctx.dest.uri,
        status=status,
        items_total=len(manifest.items),
        items_ok=counts[ItemStatus.OK],
        items_failed=counts[ItemStatus.FAILED],
        items_duplicate=counts[ItemStatus.DUPLICATE],
        items_quarantined=counts[ItemStatus.QUARANTINED],
        items_reused=sum(1 for i in manifest.items if i.reused_from_run_id),
        requests=len(request_rows),
        estimated_cost_usd=Decimal(manifest.estimated_cost_usd),
        cost_usd=total_cost,
        failures=[(i.source.uri, i.error or "") for i in manifest.items if i.status in (ItemStatus.FAILED, ItemStatus.QUARANTINED)],
    )
