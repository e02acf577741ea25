from decimal import Decimal

import pyarrow as pa
import pytest

from pipeline.commit.writer import to_table, write_partition
from pipeline.storage import S3Location, S3Store
from pipeline.tables import SCHEMA_VERSION, TABLES, read_table


def _media(run_id: str, uri: str) -> dict:
    return {
        "run_id": run_id,
        "source_uri": uri,
        "media_type": "video",
        "status": "ok",
        "cost_usd": Decimal("0.000001234"),
    }


def test_rerun_replaces_per_run_tables_and_appends_ledgers(buckets) -> None:
    store = S3Store()
    dest = S3Location.parse(buckets[1])
    write_partition(
        store,
        dest,
        "media",
        "2026-11-01",
        "run-a",
        [_media("run-a", "s3://x/b"), _media("run-a", "s3://x/a")],
    )
    write_partition(store, dest, "media", "2026-11-01", "run-b", [_media("run-b", "s3://x/a")])
    media = read_table(store, dest, "media", "2026-11-01")
    assert media.column("run_id").to_pylist() == ["run-b"]
    assert media.column("dt").to_pylist() == ["2026-11-01"]
    for run in ("run-a", "run-b"):
        write_partition(
            store,
            dest,
            "runs",
            "2026-11-01",
            run,
            [
                {
                    "run_id": run,
                    "started_at": pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py(),
                    "model": "m",
                    "status": "succeeded",
                }
            ],
        )
    assert sorted(read_table(store, dest, "runs").column("run_id").to_pylist()) == ["run-a", "run-b"]


def test_rows_are_typed_sorted_and_money_is_exact() -> None:
    table = to_table("media", [_media("r", "s3://x/b"), _media("r", "s3://x/a")])
    assert table.schema.field("cost_usd").type == pa.decimal128(18, 9)
    assert table.column("source_uri").to_pylist() == ["s3://x/a", "s3://x/b"]
    assert table.schema.metadata[b"schema_version"] == str(SCHEMA_VERSION).encode()


def test_missing_required_column_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        to_table("media", [{"run_id": "r", "source_uri": "u", "media_type": "video"}])


def test_every_table_has_the_contract_columns() -> None:
    contract = {
        "media": {
            "run_id",
            "source_uri",
            "sha256",
            "media_type",
            "bytes",
            "duration_s",
            "width",
            "height",
            "status",
            "error",
            "chunks",
            "cost_usd",
        },
        "annotations": {"run_id", "source_uri", "summary", "tags", "language", "model", "task_version"},
        "segments": {"run_id", "source_uri", "start_s", "end_s", "label", "description"},
        "requests": {
            "run_id",
            "request_key",
            "source_uri",
            "chunk_index",
            "model",
            "mode",
            "batch_job",
            "status",
            "finish_reason",
            "prompt_tokens_text",
            "prompt_tokens_image",
            "prompt_tokens_video",
            "prompt_tokens_audio",
            "cached_tokens",
            "output_tokens",
            "thought_tokens",
            "latency_ms",
            "cost_usd",
        },
        "runs": {
            "run_id",
            "started_at",
            "finished_at",
            "model",
            "items_total",
            "items_ok",
            "items_failed",
            "items_duplicate",
            "requests",
            "estimated_cost_usd",
            "cost_usd",
            "budget_usd",
            "price_table_version",
            "status",
        },
        "quarantine": {"run_id", "source_uri", "stage", "reason", "detail"},
    }
    for name, columns in contract.items():
        assert columns <= set(TABLES[name].names), name
