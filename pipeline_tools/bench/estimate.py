"""The run's cost estimate against its bill (part of `make bench`), on two nights of similar content under
one destination: the first night is estimated from the task's prior, the second from the first night's
billed requests (pipeline.plan). Both nights are the whole job (`run_job`) on the default settings,
against embedded S3 and the Gemini emulator; "billed" is the run's `cost_usd` (the sum of its
`requests` rows), "expected" and "upper bound" are the run summary's estimate.

Targets: expected / billed within 50% on the first night and within 10% on the second, and the upper
bound (what the budget guard checks) at or above the bill on both."""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_tools.bench.run import Row

if TYPE_CHECKING:
    from pipeline.storage import S3Location, S3Store

# (date, seed) of the two nights: another seed is similar, not equal, content.
NIGHTS: tuple[tuple[date, int], ...] = ((date(2026, 11, 24), 101), (date(2026, 11, 25), 102))
# How far expected / billed may be from 1 on each night: the prior's guess, then a learned one.
TOLERANCE = (0.5, 0.10)
SOURCE = "s3://bench-estimate-inbox/incoming"
DEST = "s3://bench-estimate-results/gemini"


@dataclass(frozen=True)
class NightSize:
    """Files per night (pipeline_tools.samples.generate_night)."""

    images: int = 24
    videos: int = 6
    audios: int = 4

    @classmethod
    def parse(cls, text: str) -> NightSize:
        """From "IMAGES,VIDEOS,AUDIOS", e.g. "24,6,4"."""
        images, videos, audios = (int(v) for v in text.split(","))
        return cls(images, videos, audios)


def _usd(value: object) -> float:
    return float(Decimal(str(value)))


def _night_details(store: S3Store, dest: S3Location, dt: date) -> dict[str, Any]:
    """Expected, upper bound and billed per media type (media table), billed per model (requests)."""
    from pipeline.tables import read_table

    by_type: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in read_table(store, dest, "media", dt.isoformat()).to_pylist():
        kind = by_type[str(row["media_type"])]
        kind["items"] += 1
        kind["expected_usd"] += _usd(row.get("estimated_cost_usd") or 0)
        kind["upper_usd"] += _usd(row.get("estimated_cost_upper_usd") or 0)
        kind["billed_usd"] += _usd(row.get("cost_usd") or 0)
    by_model: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in read_table(store, dest, "requests", dt.isoformat()).to_pylist():
        model = by_model[f"{row['model']} ({row['mode']})"]
        model["requests"] += 1
        model["billed_usd"] += _usd(row.get("cost_usd") or 0)
        model["output_tokens"] += int(row.get("output_tokens") or 0)
        model["thought_tokens"] += int(row.get("thought_tokens") or 0)
    return {"by_media_type": _rounded(by_type), "by_model": _rounded(by_model)}


def _rounded(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {k: {f: round(v, 6) for f, v in fs.items()} for k, fs in sorted(table.items())}


def run_nights(
    size: NightSize = NightSize(),
    nights: tuple[tuple[date, int], ...] = NIGHTS,
    log: Callable[[str], None] = print,
    batch_delay_s: float = 0.5,
) -> list[dict[str, Any]]:
    """Generate, upload and run each night in turn under one destination; one dict per night."""
    from pipeline.catalog import default_run_model
    from pipeline.cli.demo import upload_media
    from pipeline.commit import RunSummary
    from pipeline.config import Settings
    from pipeline.run import run_job
    from pipeline.storage import S3Location, S3Store
    from pipeline_tools.embedded import embedded_services
    from pipeline_tools.samples import generate_night

    out: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="gmp-bench-estimate-") as tmp,
        embedded_services(batch_delay_s=batch_delay_s),
    ):
        settings = Settings(source=SOURCE, dest=DEST, model=default_run_model(), batch_poll_seconds=0.2)
        store = S3Store()
        dest = S3Location.parse(settings.dest)
        for dt, seed in nights:
            started = time.perf_counter()
            media = Path(tmp) / f"seed{seed}"
            generate_night(media, seed=seed, images=size.images, videos=size.videos, audios=size.audios)
            uploaded = upload_media(store, settings, dt, media)
            summary = run_job(settings, dt, store=store)
            assert isinstance(summary, RunSummary)
            night = {
                "dt": dt.isoformat(),
                "seed": seed,
                "uploaded": uploaded,
                "status": summary.status,
                "items_ok": summary.items_ok,
                "requests": summary.requests,
                "model": settings.model,
                "mode": settings.mode,
                "expected_usd": _usd(summary.estimated_cost_usd),
                "upper_usd": _usd(summary.estimated_cost_upper_usd),
                "billed_usd": _usd(summary.cost_usd),
                "estimate_basis": summary.estimate_basis,
                "seconds": round(time.perf_counter() - started, 1),
                **_night_details(store, dest, dt),
            }
            log(
                f"estimate night {dt} (seed {seed}): {uploaded} files, {summary.requests} requests, "
                f"expected ${night['expected_usd']:.4f} / billed ${night['billed_usd']:.4f} "
                f"({night['seconds']:.0f} s)"
            )
            out.append(night)
    return out


def estimate_rows(nights: list[dict[str, Any]]) -> list[Row]:
    """Expected / billed (a band around 1) and upper bound / billed (>= 1) per night."""
    rows: list[Row] = []
    for i, night in enumerate(nights):
        label = ("first night", "second night")[i] if i < 2 else f"night {i + 1}"
        billed = night["billed_usd"]
        ratio = night["expected_usd"] / billed if billed else float("inf")
        upper = night["upper_usd"] / billed if billed else float("inf")
        money = f"${night['expected_usd']:.4f} expected vs ${billed:.4f} billed"
        rows += [
            Row(
                f"estimate expected / billed, {label}",
                ratio,
                1.0,
                tolerance=TOLERANCE[min(i, len(TOLERANCE) - 1)],
                note=f"{money}; {night['estimate_basis']}",
            ),
            Row(
                f"estimate upper bound / billed, {label}",
                upper,
                1.0,
                at_most=False,
                note=f"${night['upper_usd']:.4f} upper bound vs ${billed:.4f} billed",
            ),
        ]
    return rows


def run_estimate_bench(
    log: Callable[[str], None] = print, size: NightSize = NightSize()
) -> tuple[list[Row], dict[str, Any]]:
    log(
        f"estimate vs bill: two nights of {size.images} images, {size.videos} videos, {size.audios} audio "
        "clips under one destination (about a minute) ..."
    )
    nights = run_nights(size, log=log)
    second = nights[-1]["estimate_basis"] or ""
    if not second.startswith("history"):
        log(f"WARNING: the second night was not estimated from the first one's requests: {second}")
    return estimate_rows(nights), {"nights": nights}


if __name__ == "__main__":
    from pipeline_tools.bench.run import format_table

    print(format_table(run_estimate_bench()[0]))
