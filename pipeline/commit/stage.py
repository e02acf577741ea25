"""commit: every table gated by its Great Expectations suite, written under run-specific names and
committed for the date in one manifest PUT; costs summed exactly from per-request costs (account)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
from pydantic import Field

from pipeline.account import (
    Attempt,
    RunRecord,
    billed_attempts,
    cache_storage_rows,
    latency_stats,
    request_rows,
    run_row,
)
from pipeline.commit.rows import answer_rows, failed_item_rows, media_row
from pipeline.commit.writer import (
    COMMIT_ATTEMPTS,
    CommitBase,
    WrittenFile,
    commit_base,
    commit_on,
    write_file,
)
from pipeline.errors import WriteConflictError
from pipeline.models import ItemStatus
from pipeline.run.context import RunContext
from pipeline.run.state import ItemState, QuarantineRow, RunManifest
from pipeline.tables.reader import commit_manifest_loc
from pipeline.validate import ledger_entry, quality, validation_frames

ZERO = Decimal("0E-9")
Row = dict[str, Any]


class RunSummary(RunRecord):
    """What a run reports when it ends: its `runs` row, plus the date, where to look, and what failed."""

    dt: str
    dest: str
    latency_alerts: list[str] = Field(default_factory=list)
    validation_results: str | None = None
    failures: list[tuple[str, str]]

    @classmethod
    def of_run(cls, run: RunRecord, **extra: Any) -> RunSummary:
        return cls(**run.model_dump(), **extra)


def latency_alerts(latency: list[dict[str, Any]], sync_ms: int, batch_ms: int) -> list[str]:
    """One line per (mode, model) whose p99 latency is over its threshold (Settings)."""
    limits = {"sync": sync_ms, "batch": batch_ms}
    return [
        f"p99 latency of {g['mode']} requests to {g['model']} is {g['p99_ms'] / 1000:.1f} s over "
        f"{g['requests']} request(s), above the {limits[g['mode']] / 1000:g} s threshold "
        f"({g['mode']}_latency_p99_alert_ms)"
        for g in latency
        if g["mode"] in limits and g["p99_ms"] > limits[g["mode"]]
    ]


def _item_tables(manifest: RunManifest, cost_by_source: dict[str, Decimal]) -> dict[str, list[Row]]:
    tables: dict[str, list[Row]] = {"media": [], "annotations": [], "segments": []}
    for item in manifest.items:
        tables["media"].append(media_row(manifest, item, cost_by_source.get(item.source.uri, ZERO)))
        annotations, segments = answer_rows(manifest, item)
        tables["annotations"] += annotations
        tables["segments"] += segments
    return tables


def _billed_by_others(ctx: RunContext, base: CommitBase, run_id: str) -> set[Attempt]:
    """Attempts the date's committed `requests` files of other runs already charge for."""
    paths = [
        f["path"]
        for f in (base.doc or {"files": []})["files"]
        if f["table"] == "requests" and f.get("run_id") != run_id
    ]
    rows: list[Row] = []
    for path in paths:
        rows += pq.read_table(io.BytesIO(ctx.store.get_bytes(ctx.dest.join(path)))).to_pylist()
    return billed_attempts(rows)


# Threads for the per-item answer-ledger PUTs after the commit: under botocore's default pool of 10
# connections a client, with room for the chunk deletes beside them (more threads than connections only
# makes urllib3 discard and reopen connections).
_FINISH_THREADS = 8


def _finish_items(ctx: RunContext, manifest: RunManifest) -> None:
    """Each committed item's answer into the answer ledger, and the run's prepared chunks deleted.

    The ledger entries are one small PUT an item (later runs look each up by sha256): on a few threads,
    not one after another. The chunks go together, while those PUTs run: one listing of the chunk area
    and DeleteObjects of up to 1,000 keys (S3Store.delete_under), where a LIST and a DELETE an item took
    a quarter of a 200-object run's commit on the embedded S3. Exactly what deleting each item's
    `ctx.chunk_prefix` would remove goes: the prefixes of this run's prepared items, nothing else of the
    area (another run's chunks of other content stay), and of those only what no other live run leases
    (a run of another date with the same content, still to send them): this run's lease alone goes there."""

    def ledger(item: ItemState) -> None:
        ctx.store.put_json(ctx.answer_ledger(item.source.sha256), ledger_entry(manifest, item))

    answered = [
        i
        for i in manifest.items
        if i.status == ItemStatus.OK and i.answer is not None and i.reused_from_run_id is None
    ]
    prepared = [ctx.chunk_prefix(i) for i in manifest.items if i.prepared and i.fingerprint]
    with ThreadPoolExecutor(max_workers=_FINISH_THREADS) as pool:
        puts = [pool.submit(ledger, item) for item in answered]
        ctx.store.delete_under(ctx.layout.chunk_area(), prepared, ctx.layout.chunk_leases(ctx.run_id))
        for put in puts:  # the first error is raised here
            put.result()


def stage_commit(ctx: RunContext) -> RunSummary:
    manifest = ctx.load()
    dt, on = manifest.dt, ctx.today
    first, _ = request_rows(manifest, on)
    alerts = latency_alerts(
        latency_stats(first),
        ctx.settings.sync_latency_p99_alert_ms,
        ctx.settings.batch_latency_p99_alert_ms,
    )
    for alert in alerts:
        manifest.note(alert)
    validator = quality.open_validator(ctx)
    # The rows are made against one version of the date's commit: an attempt another committed run
    # already bills (it re-attached to that run's job, or took its answer) costs 0 here. If another run
    # commits in between, the rows are made again against its commit, so the date bills each once.
    for _attempt in range(COMMIT_ATTEMPTS):
        base = commit_base(ctx.store, ctx.dest, dt)
        elsewhere = _billed_by_others(ctx, base, manifest.run_id)
        tables, gate, run, written = _write_tables(ctx, manifest, validator, on, elsewhere)
        if commit_on(ctx.store, ctx.dest, dt, manifest.run_id, written, base) is not None:
            break
        ctx.progress.note(f"another run committed dt={dt} meanwhile: remaking this run's rows on top of it")
    else:
        raise WriteConflictError(
            f"committing dt={dt} of run {manifest.run_id}: {COMMIT_ATTEMPTS} other commits of the date "
            "won in a row; run the commit again",
            bucket=ctx.dest.bucket,
            key=commit_manifest_loc(ctx.dest, dt).key,
        )
    ctx.progress.advance("commit", f"committed dt={dt}")
    quality.publish(ctx, validator, gate, run, tables["quarantine"])

    _finish_items(ctx, manifest)
    manifest.stages_done.append("commit")
    ctx.save(manifest)
    quality.raise_if_poor(ctx, gate, run, tables["quarantine"])
    return RunSummary.of_run(
        run,
        dt=dt,
        dest=ctx.dest.uri,
        latency_alerts=alerts,
        validation_results=quality.results_loc(ctx).uri,
        failures=[
            (i.source.uri, i.error or "")
            for i in manifest.items
            if i.status in (ItemStatus.FAILED, ItemStatus.QUARANTINED)
        ],
    )


def _write_tables(
    ctx: RunContext,
    manifest: RunManifest,
    validator: Any,
    on: date,
    elsewhere: set[Attempt],
) -> tuple[dict[str, list[Row]], Any, RunRecord, list[WrittenFile]]:
    """Every table's rows, gated, written under this run's names (not yet committed)."""
    dt = manifest.dt
    requests, cost_by_source = request_rows(manifest, on, elsewhere)
    requests += cache_storage_rows(manifest, on)

    # Gate, pass 1: rows about to be written; failing items are quarantined and lose their answers.
    candidate = {**_item_tables(manifest, cost_by_source), "requests": requests}
    gate = quality.check_items(validator, manifest, candidate)
    gate_rows = quality.gate_quarantine_rows(gate, validation_frames(candidate))
    tables = {**_item_tables(manifest, cost_by_source), "requests": requests}
    quarantine: list[QuarantineRow] = [*manifest.quarantine, *failed_item_rows(manifest), *gate_rows]
    tables["quarantine"] = [{"run_id": manifest.run_id, **q.model_dump()} for q in quarantine]

    # Gate, pass 2: the run row against the final tables.
    finished = datetime.now(UTC)
    limit = ctx.settings.max_failure_share

    def runs(validation_success: bool | None) -> RunRecord:
        return run_row(
            manifest,
            on=on,
            finished_at=finished,
            requests=requests,
            max_failure_share=limit,
            validation_success=validation_success,
        )

    quality.check_run(validator, gate, {**tables, "runs": [runs(None).row()]})
    run = runs(gate.report.success)
    tables["runs"] = [run.row()]

    ctx.progress.start("commit", len(tables) + 1)
    written = []
    for name, rows in tables.items():
        written.append(write_file(ctx.store, ctx.dest, name, dt, manifest.run_id, rows))
        ctx.progress.advance("commit", f"{name}: {len(rows)} row(s)")
    return tables, gate, run, written
