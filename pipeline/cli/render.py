"""Terminal output: Rich progress for long stages and the run summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:  # the run pulls in pandas and Great Expectations: `plan` needs neither
    from pipeline.commit import RunSummary

console = Console(stderr=False)


class RichProgress:
    """The run's Progress protocol drawn as Rich bars, one per stage."""

    def __init__(self, console: Console = console) -> None:
        self._console = console
        self._bars = Progress(
            TextColumn("[bold]{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}", style="dim"),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def start(self, stage: str, total: int) -> None:
        self._tasks[stage] = self._bars.add_task(stage, total=max(total, 1) if total else 0, note="")

    def advance(self, stage: str, note: str = "") -> None:
        if stage not in self._tasks:
            self.start(stage, 0)
        self._bars.update(self._tasks[stage], advance=1, note=note[-70:])

    def note(self, message: str) -> None:
        self._bars.console.print(f"[cyan]•[/] {message}")


def print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")


def print_summary(summary: RunSummary) -> None:
    table = Table(title=f"run {summary.run_id} (dt={summary.dt}): {summary.status}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("items", str(summary.items_total))
    table.add_row("  ok", str(summary.items_ok))
    table.add_row("  answered from earlier runs", str(summary.items_reused))
    table.add_row("  failed", str(summary.items_failed))
    table.add_row("  quarantined", str(summary.items_quarantined))
    table.add_row("  duplicate", str(summary.items_duplicate))
    table.add_row("requests", str(summary.requests))
    table.add_row("  answered by another model", str(summary.routed_requests))
    for route in summary.routed:
        table.add_row(f"    {route['requested']} -> {route['answered']}", str(route["requests"]))
    table.add_row("thought tokens", f"{summary.thought_tokens:,}")
    table.add_row("estimated cost (USD), expected", f"{summary.estimated_cost_usd:.6f}")
    table.add_row("estimated cost (USD), upper bound", f"{summary.estimated_cost_upper_usd:.6f}")
    table.add_row("billed cost (USD)", f"{summary.cost_usd:.6f}")
    for group in summary.latency:
        table.add_row(
            f"latency {group['mode']} {group['model']} (p50/p95/p99 s)",
            f"{group['p50_ms'] / 1000:.2f} / {group['p95_ms'] / 1000:.2f} / {group['p99_ms'] / 1000:.2f}",
        )
    table.add_row("tables", summary.dest)
    console.print(table)
    if summary.estimate_basis:
        console.print(f"[dim]estimate basis: {summary.estimate_basis}[/]")
    print_warnings(summary.warnings)
    for uri, error in summary.failures:
        console.print(f"[yellow]✗[/] {uri}: {error}")
