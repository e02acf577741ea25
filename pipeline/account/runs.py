"""The run's row: item counts, requests, estimate and bill, latency, routing and warnings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pipeline.account.requests import latency_stats, routed
from pipeline.catalog import price_table
from pipeline.models import ItemStatus
from pipeline.run.state import RunManifest

Row = dict[str, Any]
ZERO = Decimal("0E-9")


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
