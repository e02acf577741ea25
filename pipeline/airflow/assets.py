"""The Asset the DAG announces when a date's tables are committed. Downstream DAGs schedule on it
(`schedule=[MEDIA_TABLES]`) and read the event's extra: dt, destination, row counts and cost."""

from __future__ import annotations

import os
from typing import Any

from airflow.sdk import Asset

from pipeline.config import Settings

# The URI names the default destination (MEDIA_PIPELINE_DEST, read from the environment like every
# setting, no I/O); a run with another `dest` param reports its real destination in the event's extra.
MEDIA_TABLES = Asset(
    name="media_pipeline_tables",
    uri=os.environ.get("MEDIA_PIPELINE_DEST", Settings.model_fields["dest"].default).rstrip("/") + "/",
    group="media",
)


def event_extra(summary: dict[str, Any]) -> dict[str, Any]:
    """What the commit task attaches to the Asset event: small, JSON, no secrets."""
    keys = (
        "run_id",
        "dt",
        "dest",
        "status",
        "items_total",
        "items_ok",
        "items_failed",
        "items_duplicate",
        "items_quarantined",
        "items_reused",
        "requests",
        "estimated_cost_usd",
        "estimated_cost_upper_usd",
        "cost_usd",
        "routed_requests",
        "thought_tokens",
    )
    return {k: (str(summary[k]) if k.endswith("_usd") else summary[k]) for k in keys if k in summary}
