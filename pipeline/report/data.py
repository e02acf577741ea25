"""What the report shows, computed from the committed tables of one date (and recent runs)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.storage import S3Layout, S3Location, S3Store
from pipeline.tables import read_table

TOKEN_COLUMNS = (
    "prompt_tokens_text",
    "prompt_tokens_image",
    "prompt_tokens_video",
    "prompt_tokens_audio",
    "output_tokens",
    "thought_tokens",
)
RECENT_RUNS = 14


@dataclass
class ReportData:
    dt: str
    dest: str
    run: dict[str, Any] | None  # latest run of the date
    media: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    recent_runs: list[dict[str, Any]]
    validation: dict[str, Any] | None
    cost_by_type_model: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    tokens_per_media_hour: dict[str, dict[str, float]] = field(default_factory=dict)
    slowest: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def media_hours(self) -> float:
        return sum(m["duration_s"] or 0 for m in self.media if m["status"] == "ok") / 3600

    @property
    def cost_usd(self) -> Decimal:
        """Everything paid for this date's media, every run included."""
        return sum((r["cost_usd"] for r in self.requests), Decimal(0))

    @property
    def usd_per_media_hour(self) -> float | None:
        return float(self.cost_usd) / self.media_hours if self.media_hours else None


def gather(store: S3Store, dest: S3Location, dt: str) -> ReportData:
    media = read_table(store, dest, "media", dt).to_pylist()
    requests = read_table(store, dest, "requests", dt).to_pylist()
    runs = sorted(read_table(store, dest, "runs").to_pylist(), key=lambda r: r["started_at"])
    day_runs = [r for r in runs if r["dt"] == dt]
    run = day_runs[-1] if day_runs else None
    validation = None
    if run is not None:
        validation = store.get_json_or_none(S3Layout(dest).validation_results(dt, run["run_id"]))
    data = ReportData(
        dt=dt,
        dest=dest.uri,
        run=run,
        media=media,
        requests=requests,
        quarantine=read_table(store, dest, "quarantine", dt).to_pylist(),
        recent_runs=runs[-RECENT_RUNS:],
        validation=validation,
    )
    _derive(data)
    return data


def _derive(data: ReportData) -> None:
    types = {m["source_uri"]: m["media_type"] for m in data.media}
    cost: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    tokens: dict[str, Counter[str]] = defaultdict(Counter)
    latency: dict[str, int] = defaultdict(int)
    sent: Counter[str] = Counter()
    for r in data.requests:
        media_type = types.get(r["source_uri"], "unknown")
        cost[(media_type, r["model"])] += r["cost_usd"]
        tokens[media_type].update({c: r[c] or 0 for c in TOKEN_COLUMNS})
        latency[r["source_uri"]] += r["latency_ms"] or 0
        sent[r["source_uri"]] += 1
    data.cost_by_type_model = dict(sorted(cost.items()))
    hours: dict[str, float] = defaultdict(float)
    for m in data.media:
        if m["status"] == "ok" and m["duration_s"]:
            hours[m["media_type"]] += m["duration_s"] / 3600
    data.tokens_per_media_hour = {
        t: {c.removeprefix("prompt_tokens_"): n / hours[t] for c, n in counts.items()}
        for t, counts in sorted(tokens.items())
        if hours.get(t)
    }
    data.slowest = sorted(
        (
            {
                "source_uri": m["source_uri"],
                "media_type": m["media_type"],
                "duration_s": m["duration_s"],
                "requests": sent[m["source_uri"]],
                "latency_ms": latency.get(m["source_uri"], 0),
                "status": m["status"],
            }
            for m in data.media
            if latency.get(m["source_uri"])
        ),
        key=lambda s: -s["latency_ms"],
    )[:10]
    data.reasons = [
        (s, r, n) for (s, r), n in Counter((q["stage"], q["reason"]) for q in data.quarantine).most_common()
    ]
