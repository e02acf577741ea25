"""Cost accounting: usage x the versioned price table (pipeline/catalog/prices.json).

Money is Decimal, quantised to nano-dollars per request, so a run's total is exactly the sum of its
requests (the tables store decimal128 columns, which SQL engines sum exactly too)."""

from pipeline.cost.pricing import (
    USD,
    Usage,
    cache_storage_cost,
    estimate_cost,
    plan_cost,
    request_cost,
    tier_for_mode,
    to_usd,
)

__all__ = [
    "USD",
    "Usage",
    "cache_storage_cost",
    "estimate_cost",
    "plan_cost",
    "request_cost",
    "tier_for_mode",
    "to_usd",
]
