"""The estimate against the bill on two nights of similar content (the benchmark's own run: make bench
reports the same rows): the first night is estimated from the task's prior (within 50%), the second
from the first night's billed requests (within 10%), and the upper bound covers the bill on both."""

from __future__ import annotations

import pytest

from pipeline_tools.bench.estimate import run_estimate_bench

pytestmark = pytest.mark.e2e


def test_the_second_night_is_estimated_within_10_percent_of_its_bill() -> None:
    rows, details = run_estimate_bench(lambda _msg: None)
    first, second = details["nights"]
    assert first["estimate_basis"].startswith("prior")
    assert second["estimate_basis"].startswith("history")
    for night in (first, second):
        assert night["status"] == "succeeded" and night["items_ok"] == night["uploaded"]
        assert night["billed_usd"] > 0 and night["upper_usd"] >= night["billed_usd"]
    metrics = {r.metric: r for r in rows}
    assert set(metrics) == {
        "estimate expected / billed, first night",
        "estimate upper bound / billed, first night",
        "estimate expected / billed, second night",
        "estimate upper bound / billed, second night",
    }
    second_row = metrics["estimate expected / billed, second night"]
    assert (second_row.target, second_row.tolerance) == (1.0, 0.10)
    assert second_row.measured == second["expected_usd"] / second["billed_usd"]
    assert abs(metrics["estimate expected / billed, first night"].measured - 1) <= 0.5
    assert abs(second_row.measured - 1) <= 0.10
    assert all(r.passed for r in rows), [(r.metric, r.measured) for r in rows]
