"""The estimate against the bill on two nights of similar content: the first night is estimated from
the task's prior (within 50%), the second from the first night's billed requests (within 10%)."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.config import Settings
from pipeline.runner import run_job
from pipeline.samples import generate_night
from pipeline.storage import S3Location, S3Store

pytestmark = pytest.mark.e2e
NIGHTS = [(date(2026, 11, 24), 101), (date(2026, 11, 25), 102)]


def _ratio(summary) -> float:  # noqa: ANN001
    return float(summary.estimated_cost_usd) / float(summary.cost_usd)


def test_the_second_night_is_estimated_within_10_percent_of_its_bill(services, buckets, tmp_path) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    settings = Settings(source=source, dest=dest, batch_poll_seconds=0.2)
    summaries = []
    for dt, seed in NIGHTS:
        for path in generate_night(tmp_path / str(seed), seed=seed):
            store.upload(path, S3Location.parse(f"{source}/dt={dt.isoformat()}/{path.name}"))
        summaries.append(run_job(settings, dt, store=store))
    first, second = summaries
    assert first.estimate_basis and first.estimate_basis.startswith("prior")
    assert second.estimate_basis and second.estimate_basis.startswith("history")
    assert abs(_ratio(first) - 1) <= 0.5, (first.estimated_cost_usd, first.cost_usd)
    assert abs(_ratio(second) - 1) <= 0.10, (second.estimated_cost_usd, second.cost_usd)
    for summary in summaries:  # the guard's figure bounds the bill
        assert summary.estimated_cost_upper_usd >= summary.cost_usd
