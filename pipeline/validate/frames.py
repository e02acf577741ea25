"""Validation frames: each table's rows as a pandas DataFrame, plus the derived columns its suite checks.

Money is exact (Decimal) in the tables; here it is also a float for range checks, and the run's sums
are compared as fixed-point strings so the equality checks stay exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from pipeline.tables import TABLES

Rows = Sequence[Mapping[str, Any]]
NANO = Decimal("0.000000001")
MONEY_COLUMNS = ("cost_usd", "estimated_cost_usd", "estimated_cost_upper_usd", "budget_usd")


def exact(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(NANO))


def _frame(table: str, rows: Rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=[c for c in TABLES[table].names if c != "schema_version"])
    for column in MONEY_COLUMNS:
        if column in frame:
            frame[column] = frame[column].map(lambda v: None if v is None else float(v)).astype("float64")
    return frame.reset_index(drop=True)


def validation_frames(tables: Mapping[str, Rows]) -> dict[str, pd.DataFrame]:
    """Frames for every table that has a suite. `tables` holds the rows about to be written."""
    frames = {name: _frame(name, rows) for name, rows in tables.items() if name in TABLES}
    media = tables.get("media", [])
    if "annotations" in frames:
        annotations = frames["annotations"]
        annotations["tag_count"] = [len(r.get("tags") or []) for r in tables["annotations"]]
    if "segments" in frames:
        durations = {m["source_uri"]: m.get("duration_s") for m in media}
        segments = frames["segments"]
        segments["media_duration_s"] = [durations.get(r["source_uri"]) for r in tables["segments"]]
        segments["media_duration_s"] = segments["media_duration_s"].astype("float64")
    if "runs" in frames:
        runs = frames["runs"]
        requests = tables.get("requests", [])
        runs["cost_usd_exact"] = [exact(r.get("cost_usd")) for r in tables["runs"]]
        runs["observed_requests"] = len(requests)
        runs["observed_media"] = len(media)
        # Run-level overheads (context-cache storage, requests.mode = 'cache') belong to no item.
        overheads = sum(
            (r.get("cost_usd") or Decimal(0) for r in requests if r.get("mode") == "cache"), Decimal(0)
        )
        runs["observed_media_cost_usd"] = exact(
            sum((m.get("cost_usd") or Decimal(0) for m in media), Decimal(0)) + overheads
        )
        runs["observed_request_cost_usd"] = exact(
            sum((r.get("cost_usd") or Decimal(0) for r in requests), Decimal(0))
        )
    return frames
