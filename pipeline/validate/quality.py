"""The validation gate of the commit stage: table suites on the rows about to be written, quarantine of
the items whose rows fail, validation results kept beside the tables, and the run's failure share.

Two passes over one GX context: the item tables (media, annotations, segments, requests) on the
candidate rows, whose failing rows quarantine their source; then `quarantine` and `runs` on the final
rows, where `runs` checks the counts and money against the other tables.
"""

from __future__ import annotations

import mimetypes
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.errors import RunQualityError
from pipeline.models import ItemStatus
from pipeline.run.context import RunContext
from pipeline.run.state import QuarantineRow, RunManifest
from pipeline.storage import S3Location
from pipeline.validate.frames import validation_frames
from pipeline.validate.gate import ExpectationOutcome, GateReport, TableValidator, failing_sources

if TYPE_CHECKING:
    from pipeline.account import RunRecord

Row = dict[str, Any]
RUN_TABLES = ("quarantine", "runs")  # failures here are about the run, not one item


@dataclass
class GateOutcome:
    report: GateReport
    rejected: dict[str, list[ExpectationOutcome]] = field(default_factory=dict)
    docs_dir: Any = None

    @property
    def run_checks_failed(self) -> list[ExpectationOutcome]:
        return [
            o
            for name in RUN_TABLES
            if name in self.report.tables
            for o in self.report.tables[name].outcomes
            if not o.success
        ]


def results_loc(ctx: RunContext) -> S3Location:
    return ctx.layout.validation_results(ctx.dt.isoformat(), ctx.run_id)


def docs_loc(ctx: RunContext) -> S3Location:
    return ctx.layout.validation_docs(ctx.dt.isoformat(), ctx.run_id)


def open_validator(ctx: RunContext) -> TableValidator:
    assert ctx.scratch is not None
    return TableValidator(ctx.scratch / "gx", ctx.run_id)


def check_items(
    validator: TableValidator, manifest: RunManifest, tables: dict[str, list[Row]]
) -> GateOutcome:
    """Pass 1: the item tables. Items whose rows fail are marked quarantined in the manifest."""
    frames = validation_frames(tables)
    report = GateReport(run_id=manifest.run_id)
    for name in ("media", "annotations", "segments", "requests"):
        report.tables[name] = validator.validate(name, frames[name])
    rejected = failing_sources(list(report.tables.values()))
    items = {i.source.uri: i for i in manifest.items}
    for uri, outcomes in rejected.items():
        item = items.get(uri)
        if item is not None and item.status == ItemStatus.OK:
            first = outcomes[0]
            item.fail("validate", first.expectation, f"{uri}: {first.describe()}", ItemStatus.QUARANTINED)
    return GateOutcome(report, rejected)


def gate_quarantine_rows(outcome: GateOutcome, validator_frames: dict[str, Any]) -> list[QuarantineRow]:
    """One quarantine row per failed expectation per rejected source, naming the offending values."""
    rows: list[QuarantineRow] = []
    for uri, outcomes in sorted(outcome.rejected.items()):
        for failed in outcomes:
            frame = validator_frames.get(failed.table)
            row = next(
                (r for r in failed.rows if frame is not None and frame.at[r, "source_uri"] == uri), None
            )
            rows.append(
                QuarantineRow(
                    source_uri=uri,
                    stage="validate",
                    reason=failed.expectation,
                    detail=failed.describe(frame, row),
                )
            )
    return rows


def check_run(validator: TableValidator, gate: GateOutcome, tables: dict[str, list[Row]]) -> None:
    """Pass 2: quarantine and the run's consistency with media and requests, on the final rows."""
    frames = validation_frames(tables)
    for name in RUN_TABLES:
        gate.report.tables[name] = validator.validate(name, frames[name])


def publish(
    ctx: RunContext, validator: TableValidator, gate: GateOutcome, run: RunRecord, quarantine: list[Row]
) -> dict[str, Any]:
    """Results JSON at `_validation/dt=D/<run_id>.json`, Data Docs under `_validation/docs/dt=D/<run_id>/`."""
    site = validator.build_docs()
    docs = docs_loc(ctx)
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        ctx.store.put_bytes(docs.join(path.relative_to(site).as_posix()), path.read_bytes(), content_type)
    doc = {
        **gate.report.to_json(),
        "dt": ctx.dt.isoformat(),
        "status": run.status,
        "failure_share": run.failure_share,
        "max_failure_share": ctx.settings.max_failure_share,
        "quarantined_by_gate": [q for q in quarantine if q["stage"] == "validate"],
        "data_docs": docs.join("index.html").uri,
    }
    ctx.store.put_json(results_loc(ctx), doc)
    return doc


def raise_if_poor(ctx: RunContext, gate: GateOutcome, run: RunRecord, quarantine: list[Row]) -> None:
    """Called after commit: the tables are written, now the run fails loudly if it is not good enough."""
    share, limit = run.failure_share, ctx.settings.max_failure_share
    top = Counter(q["reason"] for q in quarantine).most_common(5)
    named = ", ".join(f"{reason} x{count}" for reason, count in top) or "none"
    if share > limit:
        raise RunQualityError(
            f"run {ctx.run_id} (dt={ctx.dt}): {share:.0%} of {run.items_total} item(s) failed or were quarantined, "
            f"over the {limit:.0%} limit (max_failure_share). Top reasons: {named}. Tables and quarantine are "
            f"written under {ctx.dest.uri}; validation results at {results_loc(ctx).uri}",
            failure_share=share,
            top_reasons=top,
        )
    if gate.run_checks_failed:
        failed = "; ".join(o.describe() for o in gate.run_checks_failed)
        raise RunQualityError(
            f"run {ctx.run_id} (dt={ctx.dt}): table consistency checks failed: {failed}. Validation results at {results_loc(ctx).uri}",
            failure_share=share,
            top_reasons=top,
        )
