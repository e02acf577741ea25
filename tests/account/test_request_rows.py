"""requests rows: priced at the model that answered, in the window of the day the answer arrived; run
latency percentiles and routing, worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pipeline.account import Usage, billed_attempts, latency_stats, percentile, request_rows, routed
from pipeline.commit.stage import latency_alerts
from pipeline.infer.outcomes import RequestOutcome
from pipeline.run.state import RequestFacts, RunManifest


def _manifest(outcomes: list[RequestOutcome], model: str = "gemini-3.6-flash") -> RunManifest:
    manifest = RunManifest(
        run_id="r1", dt="2026-12-10", started_at=datetime(2026, 12, 10, tzinfo=UTC), model=model,
        task="describe", task_version="describe-v2", mode="batch", source="s3://a/b", dest="s3://c/d",
    )  # fmt: skip
    for o in outcomes:
        manifest.outcomes[o.key] = o
        manifest.requests[o.key] = RequestFacts(
            source_uri=f"s3://a/b/{o.key}", chunk_index=0, model=model, chunk_start_s=0.0, chunk_end_s=10.0,
            mime_type="video/mp4", bytes=1000,
        )  # fmt: skip
    return manifest


def _outcome(key: str, **kw) -> RequestOutcome:
    usage = Usage(video=1_000_000, output=100_000, thoughts=100_000)
    return RequestOutcome(key=key, mode="batch", status="ok", usage=usage, **kw)


def test_a_routed_request_is_priced_at_the_answering_model() -> None:
    # asked 3.6 Flash ($1.50 / $7.50), answered by 3.8 Flash on 2026-12-10 ($0.75 / $3.75), batch (x0.5):
    # (1M x 0.75 + 200k x 3.75) / 1M x 0.5 = (0.75 + 0.75) x 0.5 = 0.75
    routed_one = _outcome("k1", model_version="gemini-3.8-flash", answered_at="2026-12-10T03:00:00+00:00")
    # answered by what was asked: (1.50 + 200k x 7.50 / 1M) x 0.5 = (1.50 + 1.50) x 0.5 = 1.50
    direct = _outcome("k2", model_version="gemini-3.6-flash", answered_at="2026-12-10T03:00:00+00:00")
    rows, per_source = request_rows(_manifest([routed_one, direct]), date(2026, 12, 11))
    by_key = {r["request_key"]: r for r in rows}
    assert by_key["k1"]["billed_model"] == "gemini-3.8-flash" and by_key["k1"]["model"] == "gemini-3.6-flash"
    assert by_key["k1"]["cost_usd"] == Decimal("0.75") and by_key["k2"]["cost_usd"] == Decimal("1.50")
    assert routed(rows) == [{"requested": "gemini-3.6-flash", "answered": "gemini-3.8-flash", "requests": 1}]
    assert sum(per_source.values()) == Decimal("2.25")


def test_the_price_window_is_the_day_the_answer_arrived() -> None:
    # 3.8 Flash: $0.75 / $3.75 until 2026-12-31, $1.50 / $7.50 from 2027-01-01 (batch x0.5)
    before = _outcome("k1", model_version="gemini-3.8-flash", answered_at="2026-12-31T23:59:00+00:00")
    after = _outcome("k2", model_version="gemini-3.8-flash", answered_at="2027-01-01T00:01:00+00:00")
    rows, _ = request_rows(_manifest([before, after], model="gemini-3.8-flash"), date(2026, 12, 31))
    costs = {r["request_key"]: r["cost_usd"] for r in rows}
    assert costs == {"k1": Decimal("0.75"), "k2": Decimal("1.50")}


def test_an_unknown_model_version_is_priced_as_asked() -> None:
    odd = _outcome("k1", model_version="gemini-99-experimental", answered_at="2026-12-10T03:00:00+00:00")
    (row,), _ = request_rows(_manifest([odd]), date(2026, 12, 10))
    assert row["billed_model"] == "gemini-3.6-flash" and row["model_version"] == "gemini-99-experimental"


def test_latency_percentiles_by_nearest_rank() -> None:
    assert percentile(list(range(1, 101)), 0.50) == 50
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile(list(range(1, 101)), 0.99) == 99
    assert percentile([7], 0.99) == 7
    rows = [{"mode": "sync", "model": "m", "billed_model": "m", "latency_ms": ms} for ms in range(1, 101)]
    rows += [{"mode": "batch", "model": "m", "billed_model": "m", "latency_ms": 60_000}] * 3
    rows += [{"mode": "cache", "model": "m", "latency_ms": 999_999}]
    stats = latency_stats(rows)
    assert stats == [
        {"mode": "batch", "model": "m", "requests": 3, "p50_ms": 60_000, "p95_ms": 60_000, "p99_ms": 60_000},
        {"mode": "sync", "model": "m", "requests": 100, "p50_ms": 50, "p95_ms": 95, "p99_ms": 99},
    ]
    alerts = latency_alerts(stats, sync_ms=90, batch_ms=24 * 3600 * 1000)
    assert len(alerts) == 1 and "sync requests to m" in alerts[0] and "0.1 s" in alerts[0]


def test_the_run_record_is_the_runs_table_column_for_column() -> None:
    from pipeline.account import RunRecord
    from pipeline.commit import RunSummary
    from pipeline.tables.schemas import RUNS

    assert set(RunRecord.model_fields) == set(RUNS.names) - {"schema_version"}
    assert set(RunRecord.model_fields) < set(RunSummary.model_fields)  # the summary is the row and more


def test_an_attempt_another_committed_run_bills_costs_nothing_here() -> None:
    # Two runs of one date: both collected job J (k1), and this run took k2's sync answer from the other
    # run's ledger record (same arrival time); k3 this run paid itself. The other run's committed rows,
    # as Parquet gives them back (microsecond timestamps), charge k1 and k2.
    at = "2026-12-10T03:00:00.123456+00:00"
    shared_job = _outcome("k1", batch_job="batches/J", answered_at=at)
    taken = _outcome("k2", answered_at=at).model_copy(update={"mode": "sync"})
    own = _outcome("k3", answered_at="2026-12-10T03:00:01+00:00").model_copy(update={"mode": "sync"})
    committed = [
        {"request_key": "k1", "batch_job": "batches/J", "answered_at": datetime.fromisoformat(at),
         "cost_usd": Decimal("1.50"), "mode": "batch"},
        {"request_key": "k2", "batch_job": None, "answered_at": datetime.fromisoformat(at),
         "cost_usd": Decimal("3.00"), "mode": "sync"},
        {"request_key": "k3", "batch_job": None, "answered_at": datetime.fromisoformat(at),
         "cost_usd": Decimal("3.00"), "mode": "sync"},  # another attempt of k3 (another moment)
    ]  # fmt: skip
    elsewhere = billed_attempts(committed)
    rows, per_source = request_rows(_manifest([shared_job, taken, own]), date(2026, 12, 10), elsewhere)
    costs = {r["request_key"]: r["cost_usd"] for r in rows}
    # k3 at batch rates would be 1.50; it is sync here: (1.50 + 1.50) = 3.00 standard
    assert costs == {"k1": Decimal(0), "k2": Decimal(0), "k3": Decimal("3.00")}
    assert sum(per_source.values()) == Decimal("3.00")
    # with nothing committed elsewhere every attempt is billed here (a crashed run's answers taken over)
    rows, _ = request_rows(_manifest([shared_job, taken, own]), date(2026, 12, 10))
    assert sorted(r["cost_usd"] for r in rows) == [Decimal("1.50"), Decimal("3.00"), Decimal("3.00")]
