"""The run's row: item counts, requests, estimate and bill, latency, routing and warnings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from pipeline.account.requests import latency_stats, routed
from pipeline.catalog import price_table
from pipeline.models import ItemStatus
from pipeline.run.state import RunManifest

Row = dict[str, Any]
ZERO = Decimal("0E-9")


def failure_share(manifest: RunManifest) -> float:
    bad = sum(1 for i in manifest.items if i.status in (ItemStatus.FAILED, ItemStatus.QUARANTINED))
    return bad / len(manifest.items) if manifest.items else 0.0


class RunRecord(BaseModel):
    """A run as the `runs` table holds it: one field per column of pipeline.tables.schemas.RUNS (a test
    holds the two to the same names), with money as Decimal."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    model: str
    task: str
    task_version: str
    mode: str
    source: str
    items_total: int
    items_ok: int
    items_failed: int
    items_duplicate: int
    items_quarantined: int
    items_reused: int
    requests: int
    requests_reasked: int = 0
    estimated_cost_usd: Decimal
    estimated_cost_upper_usd: Decimal = Decimal(0)
    estimate_basis: str | None = None
    cost_usd: Decimal
    thought_tokens: int = 0
    routed_requests: int = 0
    routed: list[dict[str, Any]] = Field(default_factory=list)  # requested -> answering model, how many
    latency: list[dict[str, Any]] = Field(default_factory=list)  # p50 / p95 / p99 per mode and model
    warnings: list[str] = Field(default_factory=list)
    budget_usd: Decimal | None = None
    price_table_version: str
    status: str
    failure_share: float = 0.0
    validation_success: bool | None = None

    def row(self) -> Row:
        """The `runs` table's row (the writer adds schema_version)."""
        return {name: getattr(self, name) for name in RunRecord.model_fields}


def run_row(
    manifest: RunManifest,
    *,
    on: date,
    finished_at: datetime,
    requests: list[Row],
    max_failure_share: float,
    validation_success: bool | None,
) -> RunRecord:
    counts = {s: sum(1 for i in manifest.items if i.status == s) for s in ItemStatus}
    share = failure_share(manifest)
    if share > max_failure_share or validation_success is False:
        status = "failed_quality"
    elif counts[ItemStatus.FAILED] + counts[ItemStatus.QUARANTINED]:
        status = "succeeded_with_failures"
    else:
        status = "succeeded"
    return RunRecord.model_validate(
        {
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
            "items_reused": sum(
                1 for i in manifest.items if i.reused_from_run_id and i.status == ItemStatus.OK
            ),
            "requests": len(requests),
            "requests_reasked": sum(1 for r in requests if r.get("reask_of")),
            "estimated_cost_usd": manifest.estimated_cost_usd,
            "estimated_cost_upper_usd": manifest.estimated_cost_upper_usd,
            "estimate_basis": manifest.estimate_basis,
            "cost_usd": sum((r["cost_usd"] for r in requests), ZERO),
            "thought_tokens": sum(int(r.get("thought_tokens") or 0) for r in requests),
            "routed_requests": sum(r["requests"] for r in routed(requests)),
            "routed": routed(requests),
            "latency": latency_stats(requests),
            "warnings": list(manifest.warnings),
            "budget_usd": manifest.budget_usd,
            "price_table_version": price_table().version,
            "status": status,
            "failure_share": round(share, 6),
            "validation_success": validation_success,
        }
    )
