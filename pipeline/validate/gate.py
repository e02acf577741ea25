"""The table gate: every table's validation frame against its Great Expectations suite, just before commit.

GX runs in a file-backed context in a scratch dir (one per run): the validation results land in its
results store, so `build_docs` can render them as Data Docs, which the commit stage uploads beside the
tables. Nothing is kept locally after the run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger("pipeline.validate")


@dataclass
class ExpectationOutcome:
    table: str
    expectation: str  # GX expectation type, e.g. expect_column_values_to_be_unique
    columns: list[str]
    success: bool
    unexpected_count: int = 0
    rows: list[int] = field(default_factory=list)  # positions in the validated frame
    sources: list[str] = field(default_factory=list)  # source_uri of those rows, when the table has one
    observed: Any = None

    def describe(self, frame: pd.DataFrame | None = None, row: int | None = None) -> str:
        target = ", ".join(self.columns) or "table"
        if frame is not None and row is not None and self.columns:
            values = {c: frame.at[row, c] for c in self.columns if c in frame}
            return f"{self.table}.{target}: {self.expectation} failed for {values}"
        return f"{self.table}.{target}: {self.expectation} failed (observed {self.observed!r})"


@dataclass
class TableValidation:
    table: str
    success: bool
    evaluated: int
    successful: int
    outcomes: list[ExpectationOutcome]


@dataclass
class GateReport:
    run_id: str
    tables: dict[str, TableValidation] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(t.success for t in self.tables.values())

    def failures(self) -> list[ExpectationOutcome]:
        return [o for t in self.tables.values() for o in t.outcomes if not o.success]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "success": self.success,
            "tables": {name: asdict(t) for name, t in self.tables.items()},
        }


def _columns(kwargs: dict[str, Any]) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_A" in kwargs:
        return [kwargs["column_A"], kwargs["column_B"]]
    return list(kwargs.get("column_list") or [])


class TableValidator:
    """One run's GX context: a suite, a validation definition and a checkpoint per table."""

    def __init__(self, workdir: Path, run_id: str) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.run_id = run_id
        self.context = gx.get_context(mode="file", project_root_dir=str(workdir))
        self.context.enable_analytics(False)  # no network calls from a batch job
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._source = self.context.data_sources.add_pandas("tables")
        self._checkpoints: dict[str, Any] = {}

    def _checkpoint(self, table: str) -> Any:
        if table not in self._checkpoints:
            from pipeline.validate.suites import build_suite

            gx = self._gx
            batch = self._source.add_dataframe_asset(table).add_batch_definition_whole_dataframe(table)
            suite = self.context.suites.add(build_suite(table))
            definition = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=table, data=batch, suite=suite)
            )
            self._checkpoints[table] = self.context.checkpoints.add(
                gx.Checkpoint(
                    name=table,
                    validation_definitions=[definition],
                    result_format={"result_format": "COMPLETE"},
                )
            )
        return self._checkpoints[table]

    def validate(self, table: str, frame: pd.DataFrame) -> TableValidation:
        from great_expectations.core.run_identifier import RunIdentifier

        result = self._checkpoint(table).run(
            batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=self.run_id)
        )
        (suite_result,) = result.run_results.values()
        outcomes = []
        for r in suite_result.results:
            config = r.expectation_config
            details = r.result or {}
            rows = [i for i in details.get("unexpected_index_list") or [] if isinstance(i, int)]
            sources = sorted({str(frame.at[i, "source_uri"]) for i in rows}) if "source_uri" in frame else []
            outcomes.append(
                ExpectationOutcome(
                    table=table,
                    expectation=config.type,
                    columns=_columns(config.kwargs),
                    success=bool(r.success),
                    unexpected_count=int(details.get("unexpected_count") or 0),
                    rows=rows,
                    sources=sources,
                    observed=_jsonable(details.get("observed_value")),
                )
            )
        stats = suite_result.statistics
        return TableValidation(
            table=table,
            success=bool(suite_result.success),
            evaluated=int(stats.get("evaluated_expectations", 0)),
            successful=int(stats.get("successful_expectations", 0)),
            outcomes=outcomes,
        )

    def build_docs(self) -> Path:
        """Render every result of this run as Data Docs; returns the site's directory."""
        self.context.build_data_docs()
        (site,) = self.context.get_docs_sites_urls()
        return Path(str(site["site_url"]).removeprefix("file://")).parent


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def failing_sources(validations: list[TableValidation]) -> dict[str, list[ExpectationOutcome]]:
    """Source URI -> the expectations its rows failed (tables whose rows name a source only)."""
    by_source: dict[str, list[ExpectationOutcome]] = defaultdict(list)
    for validation in validations:
        for outcome in validation.outcomes:
            for source in outcome.sources if not outcome.success else []:
                by_source[source].append(outcome)
    return dict(by_source)
