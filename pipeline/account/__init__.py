"""account: what the run cost, exactly: usage x the dated price table (pipeline/catalog/prices.json) per
request, summed per item and per run; latency and routing of the run's requests.

Money is Decimal, quantised to nano-dollars per request, so a run's total is exactly the sum of its
requests (the tables store decimal128 columns, which SQL engines sum exactly too)."""

from pipeline.account.pricing import (
    USD,
    cache_storage_cost,
    estimate_cost,
    plan_cost,
    request_cost,
    tier_for_mode,
    to_usd,
)
from pipeline.account.requests import (
    Attempt,
    billed_attempts,
    billed_model,
    cache_storage_rows,
    latency_stats,
    percentile,
    request_rows,
    routed,
)
from pipeline.account.runs import RunRecord, failure_share, run_row
from pipeline.models import Usage

__all__ = [
    "USD",
    "Attempt",
    "billed_attempts",
    "billed_model",
    "cache_storage_rows",
    "failure_share",
    "latency_stats",
    "percentile",
    "request_rows",
    "routed",
    "RunRecord",
    "run_row",
    "Usage",
    "cache_storage_cost",
    "estimate_cost",
    "plan_cost",
    "request_cost",
    "tier_for_mode",
    "to_usd",
]
