"""The report command on a dataset the pipeline produced: the HTML carries the tables' numbers."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.storage import S3Store
from pipeline.tables import read_table
from tests.pipeline_dataset import DT

pytestmark = pytest.mark.e2e


def test_report_html_holds_the_numbers_of_the_tables(dataset, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["report", "--date", DT.isoformat(), "--dest", dataset.settings.dest, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "USD per media hour" in result.output and dataset.rerun.run_id in result.output
    html = out.read_text()
    store = S3Store()
    requests = read_table(store, dataset.dest, "requests", DT.isoformat()).to_pylist()
    media = read_table(store, dataset.dest, "media", DT.isoformat()).to_pylist()
    paid = sum((r["cost_usd"] for r in requests), Decimal(0))
    hours = sum(m["duration_s"] or 0 for m in media if m["status"] == "ok") / 3600
    assert f"{paid:.6f}" in html
    assert f"{float(paid) / hours:.6f}" in html
    for run in (dataset.first, dataset.rerun):
        assert run.run_id in html and f"{run.estimated_cost_usd:.6f}" in html
    assert (
        "Great Expectations gate" in html and "expect_column_values_to_not_be_null" not in html
    )  # all passed
    assert html.count("<svg") >= 3 and not re.search(r"<script|https?://(?!www\.w3\.org)", html)
    slowest = max(
        media, key=lambda m: sum(r["latency_ms"] or 0 for r in requests if r["source_uri"] == m["source_uri"])
    )
    assert slowest["source_uri"].rsplit("/", 1)[-1] in html


def test_report_without_a_run_fails_clearly(dataset, tmp_path) -> None:  # noqa: ANN001
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--date",
            "2001-01-01",
            "--dest",
            dataset.settings.dest,
            "--out",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 1 and "no committed run" in result.output
