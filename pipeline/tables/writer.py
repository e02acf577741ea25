"""Write one run's rows into the Hive-partitioned Parquet tables under the destination prefix.

Layout: `<dest>/<table>/dt=YYYY-MM-DD/part-<run_id>.parquet`. Tables in REPLACED_PER_RUN hold the
latest run's view of a date: the new file is written first, then the older files of that partition are
removed, so a reader sees either the old or the new view of an item, never nothing. `requests` and
`runs` are ledgers: each run adds its own file and nothing is removed.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.storage import S3Location, S3Store
from pipeline.tables.schemas import REPLACED_PER_RUN, SCHEMA_VERSION, TABLES

ROW_GROUP_ROWS = 128 * 1024


def to_table(name: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    schema = TABLES[name]
    rows = [{**row, "schema_version": SCHEMA_VERSION} for row in rows]
    missing = {f.name for f in schema if not f.nullable} - ({k for r in rows for k in r} if rows else set())
    if rows and missing:
        raise ValueError(f"{name}: rows lack required columns {sorted(missing)}")
    table = pa.Table.from_pylist(rows, schema=schema)
    sort_keys = [(c, "ascending") for c in ("source_uri", "segment_index", "chunk_index") if c in schema.names]
    return table.sort_by(sort_keys) if sort_keys and table.num_rows else table


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        use_dictionary=True,
        row_group_size=ROW_GROUP_ROWS,
        write_statistics=True,
    )
    return sink.getvalue()


def partition(dest: S3Location, table: str, dt: str) -> S3Location:
    return dest.join(table, f"dt={dt}")


def write_partition(store: S3Store, dest: S3Location, name: str, dt: str, run_id: str, rows: list[dict[str, Any]]) -> S3Location:
    """Write this run's file for one table/date; replace older files where the table is per-run."""
    part = partition(dest, name, dt)
    target = part.join(f"part-{run_id}.parquet")
    store.put_bytes(target, parquet_bytes(to_table(name, rows)), "application/vnd.apache.parquet")
    if name in REPLACED_PER_RUN:
        for obj in list(store.list(part)):
            if obj["Key"] != target.key:
                store.client.delete_object(Bucket=part.bucket, Key=obj["Key"])
    return target


def read_table(store: S3Store, dest: S3Location, name: str, dt: str | None = None) -> pa.Table:
    """Read a table (one date or all) back through S3; used by the report, the demo and the tests."""
    prefix = partition(dest, name, dt) if dt else dest.join(name)
    tables = []
    for obj in store.list(prefix):
        if not obj["Key"].endswith(".parquet"):
            continue
        table = pq.read_table(io.BytesIO(store.get_bytes(S3Location(prefix.bucket, obj["Key"]))))
        part_dt = next((p[3:] for p in obj["Key"].split("/") if p.startswith("dt=")), None)
        tables.append(table.append_column("dt", pa.array([part_dt] * table.num_rows, pa.string())))
    if not tables:
        return TABLES[name].empty_table().append_column("dt", pa.array([], pa.string()))
    return pa.concat_tables(tables, promote_options="default")
