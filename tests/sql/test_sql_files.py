"""Every .sql file in sql/ run (DuckDB) or parse-checked (Athena DDL) against a dataset the pipeline made."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline.tables import TABLES
from pipeline.tables.athena import athena_type, render
from tests.conftest import REPO

SQL = REPO / "sql"
QUERIES = sorted((SQL / "queries").glob("*.sql"))


def _connect(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET VARIABLE root = ?", [root.as_posix()])
    con.execute((SQL / "duckdb" / "views.sql").read_text())
    return con


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    result = con.execute(sql)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _parquet(root: Path, table: str) -> list[dict]:
    return [r for f in sorted(root.glob(f"{table}/dt=*/*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.mark.e2e
def test_views_show_exactly_the_committed_files(dataset) -> None:  # noqa: ANN001
    con = _connect(dataset.root)
    rerun = dataset.rerun.run_id
    media = _rows(con, "SELECT * FROM media")
    assert {m["run_id"] for m in media} == {rerun} and len(media) == dataset.rerun.items_total
    assert len({m["source_uri"] for m in media}) == len(media)
    runs = _rows(con, "SELECT run_id FROM runs ORDER BY started_at")
    assert [r["run_id"] for r in runs] == [dataset.first.run_id, rerun]  # the ledger keeps both
    requests = _rows(con, "SELECT run_id, count(*) AS n FROM requests GROUP BY run_id")
    assert {r["run_id"]: r["n"] for r in requests} == {dataset.first.run_id: dataset.first.requests}
    # an orphan file (a crashed commit's, or another run's) is ignored by the views
    orphan = dataset.root / "media" / "dt=2026-11-12" / "part-orphan.parquet"
    orphan.write_bytes((next((dataset.root / "media").glob("dt=*/*.parquet"))).read_bytes())
    try:
        assert _rows(con, "SELECT count(*) AS n FROM media")[0]["n"] == len(media)
    finally:
        orphan.unlink()


@pytest.mark.e2e
def test_every_query_runs_and_cost_per_media_hour_matches_python(dataset) -> None:  # noqa: ANN001
    con = _connect(dataset.root)
    results = {q.stem: _rows(con, q.read_text()) for q in QUERIES}
    assert set(results) >= {
        "cost_per_media_hour",
        "estimate_vs_actual",
        "failure_reasons",
        "top_tags",
        "segments_per_media_type",
    }
    assert all(results.values()), {k: v for k, v in results.items() if not v}

    media, requests = _parquet(dataset.root, "media"), _parquet(dataset.root, "requests")
    paid = sum((r["cost_usd"] for r in requests), Decimal(0))
    hours = sum(m["duration_s"] for m in media if m["status"] == "ok" and m["duration_s"] is not None) / 3600
    (row,) = results["cost_per_media_hour"]
    assert row["cost_usd"] == paid == dataset.first.cost_usd
    assert row["usd_per_media_hour"] == pytest.approx(float(paid) / hours, rel=1e-9)

    by_run = {r["run_id"]: r for r in results["estimate_vs_actual"]}
    assert by_run[dataset.first.run_id]["cost_usd"] == dataset.first.cost_usd
    assert by_run[dataset.rerun.run_id]["cost_usd"] == 0

    quarantine = _parquet(dataset.root, "quarantine")
    reasons = {(r["stage"], r["reason"]): r["items"] for r in results["failure_reasons"]}
    assert sum(reasons.values()) == len({(q["stage"], q["reason"], q["source_uri"]) for q in quarantine})

    tags = [t for a in _parquet(dataset.root, "annotations") for t in set(a["tags"])]
    top = results["top_tags"][0]
    assert top["items"] == max(tags.count(t) for t in set(tags))

    segments = _parquet(dataset.root, "segments")
    types = {m["source_uri"]: m["media_type"] for m in media if m["status"] == "ok"}
    per_type = {r["media_type"]: r["segments"] for r in results["segments_per_media_type"]}
    for media_type, count in per_type.items():
        assert count == sum(1 for s in segments if types.get(s["source_uri"]) == media_type)


def _ddl_columns(text: str) -> tuple[str, list[tuple[str, str]]]:
    match = re.search(r"CREATE EXTERNAL TABLE IF NOT EXISTS ([\w.]+) \((.*?)\n\)\nPARTITIONED BY", text, re.S)
    assert match, "no CREATE EXTERNAL TABLE ... PARTITIONED BY"
    columns = re.findall(r"^\s*`(\w+)`\s+([\w<>(),:]+?),?$", match.group(2), re.M)
    return match.group(1), columns


@pytest.mark.parametrize("table", sorted(TABLES))
def test_athena_ddl_matches_the_arrow_schema(table: str) -> None:
    text = (SQL / "athena" / f"{table}.sql").read_text()
    name, columns = _ddl_columns(text)
    assert name.endswith(f".{table}")
    assert columns == [(f.name, athena_type(f.type)) for f in TABLES[table]], (
        "regenerate: python -m pipeline.tables.athena"
    )
    assert re.search(
        r"PARTITIONED BY \(dt string\)\s+STORED AS PARQUET\s+LOCATION 's3://[^']+/" + table + r"/'", text
    )
    for prop in (
        "'projection.enabled'='true'",
        "'projection.dt.type'='date'",
        "'projection.dt.format'='yyyy-MM-dd'",
    ):
        assert prop in text
    assert re.search(r"'storage.location.template'='s3://[^']+/" + table + r"/dt=\$\{dt\}/'", text)
    assert text.count("(") == text.count(")") and text.rstrip().endswith(");")
    assert text == render(table)


def test_athena_types_are_what_athena_reads_from_our_parquet() -> None:
    import pyarrow as pa

    assert athena_type(pa.decimal128(18, 9)) == "decimal(18,9)"
    assert athena_type(pa.list_(pa.int32())) == "array<int>"
    assert athena_type(pa.timestamp("us", tz="UTC")) == "timestamp"
    assert athena_type(pa.list_(pa.struct([("mode", pa.string()), ("p99_ms", pa.int64())]))) == (
        "array<struct<mode:string,p99_ms:bigint>>"
    )


def test_every_column_is_in_the_data_dictionary() -> None:
    readme = (SQL / "README.md").read_text()
    for table, schema in TABLES.items():
        section = re.search(rf"^### {table}\n(.*?)(?=^### |\Z)", readme, re.S | re.M)
        assert section, f"sql/README.md has no '### {table}' section"
        documented = set(re.findall(r"^\| (\w+) \|", section.group(1), re.M)) - {"column"}
        missing = set(schema.names) - documented
        assert not missing, f"{table}: columns not documented in sql/README.md: {sorted(missing)}"
        assert not documented - set(schema.names), f"{table}: README documents columns the schema lacks"
