"""Reading the committed view of the tables: what a date's commit manifest lists (the files readers
may read), or for a partition written before manifests existed, what is there."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.storage import S3Location, S3Store
from pipeline.tables.schemas import TABLES

COMMITS_DIR = "_commits"


def partition(dest: S3Location, table: str, dt: str) -> S3Location:
    return dest.join(table, f"dt={dt}")


def commit_manifest_loc(dest: S3Location, dt: str) -> S3Location:
    return dest.join(COMMITS_DIR, f"dt={dt}.json")


def read_commit(store: S3Store, dest: S3Location, dt: str) -> dict[str, Any] | None:
    return store.get_json_or_none(commit_manifest_loc(dest, dt))


def committed_dates(store: S3Store, dest: S3Location) -> list[str]:
    dates = []
    for obj in store.list(dest.join(COMMITS_DIR)):
        stem = obj["Key"].rsplit("/", 1)[-1]
        if stem.startswith("dt=") and stem.endswith(".json"):
            dates.append(stem[3:-5])
    return sorted(dates)


def _listed_files(store: S3Store, dest: S3Location, name: str, dt: str) -> list[str]:
    doc = read_commit(store, dest, dt)
    if doc is not None:
        return [f["path"] for f in doc["files"] if f["table"] == name]
    # No manifest: a partition written before commit manifests existed; read what is there.
    prefix = dest.key.rstrip("/") + "/" if dest.key else ""
    return [
        o["Key"].removeprefix(prefix)
        for o in store.list(partition(dest, name, dt))
        if o["Key"].endswith(".parquet")
    ]


def read_table(store: S3Store, dest: S3Location, name: str, dt: str | None = None) -> pa.Table:
    """Read the committed view of a table (one date or all) back through S3, with its `dt` column."""
    dates = [dt] if dt else sorted(set(committed_dates(store, dest)) | _partition_dates(store, dest, name))
    tables = []
    for day in dates:
        for path in _listed_files(store, dest, name, day):
            table = pq.read_table(io.BytesIO(store.get_bytes(dest.join(path))))
            tables.append(table.append_column("dt", pa.array([day] * table.num_rows, pa.string())))
    if not tables:
        return TABLES[name].empty_table().append_column("dt", pa.array([], pa.string()))
    return pa.concat_tables(tables, promote_options="default")


def _partition_dates(store: S3Store, dest: S3Location, name: str) -> set[str]:
    return {p[3:] for o in store.list(dest.join(name)) for p in o["Key"].split("/") if p.startswith("dt=")}
