"""`media-pipeline report`: the run report of one date as HTML, and a short terminal summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.render import console


def report(
    date_: Annotated[str, typer.Option("--date", help="run date YYYY-MM-DD")],
    dest: Annotated[
        str | None, typer.Option(help="s3://bucket/prefix of the tables (default: settings)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="HTML file to write (default: report-<date>.html)")
    ] = None,
) -> None:
    """HTML report of one date (cost by modality and model, tokens per media hour, estimate vs actual,
    routed requests and latency, validation, slowest items) and a terminal summary."""
    from pipeline.config import Settings
    from pipeline.report import gather, render_html
    from pipeline.storage import S3Location, S3Store

    settings = Settings(dest=dest) if dest else Settings()
    data = gather(S3Store(), S3Location.parse(settings.dest), date_)
    if data.run is None:
        console.print(f"[bold red]error:[/] no committed run for dt={date_} under {settings.dest}")
        raise typer.Exit(1)
    target = out or Path(f"report-{date_}.html")
    target.write_text(render_html(data), encoding="utf-8")
    table = Table(title=f"dt={date_}: run {data.run['run_id']} ({data.run['status']})", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row(
        "items ok / failed / quarantined",
        f"{data.run['items_ok']} / {data.run['items_failed']} / {data.run['items_quarantined']}",
    )
    table.add_row("cost USD (all runs of the date)", f"{data.cost_usd:.6f}")
    table.add_row(
        "USD per media hour", f"{data.usd_per_media_hour:.6f}" if data.usd_per_media_hour is not None else "-"
    )
    table.add_row(
        "validation", "passed" if data.validation and data.validation["success"] else "failed or missing"
    )
    table.add_row("requests answered by another model", str(data.run.get("routed_requests") or 0))
    for route in data.run.get("routed") or []:
        table.add_row(f"  {route['requested']} -> {route['answered']}", str(route["requests"]))
    for group in data.run.get("latency") or []:
        table.add_row(
            f"latency {group['mode']} {group['model']} p50/p95/p99 ms",
            f"{group['p50_ms']} / {group['p95_ms']} / {group['p99_ms']}",
        )
    for stage, reason, count in data.reasons[:3]:
        table.add_row(f"  {stage}: {reason}", str(count))
    console.print(table)
    console.print(f"report: {target.resolve()}")
