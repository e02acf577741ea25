"""Write one run's rows into the Hive-partitioned Parquet tables, and commit them atomically.

Layout under the destination:

    <table>/dt=YYYY-MM-DD/part-<run_id>.parquet     one file per run, table and date
    _commits/dt=YYYY-MM-DD.json                     the commit manifest: the files readers may read

A run writes every table's file under its own run-specific name first (invisible to readers that honour
the manifest), then replaces the date's commit manifest with one PUT: S3 replaces an object atomically,
so every table of the date switches to the new run at the same instant. Only then are files no longer
listed deleted. For tables in REPLACED_PER_RUN the manifest lists the new run's file only (a rerun
replaces the date exactly); for the ledgers (`requests`, `runs`) it lists the earlier files too.

`read_table` and the DuckDB views in sql/ read only listed files. A plain glob over `<table>/dt=*/`
(Athena, Spark) can see both the old and the new file of a replaced table for the moment between the
manifest PUT and the cleanup; sql/README.md documents that trade-off.

Overlapping runs of one date (a scheduled and a manual run, two backfills): the manifest PUT is
conditional, `If-Match` on the ETag of the manifest just read (`If-None-Match: *` for the date's first
commit), so of two runs committing at the same instant exactly one wins and neither overwrites the other
blindly. The loser re-reads the winner's manifest and commits on top of it: its replaced tables replace
the winner's (the later run's view of the date, as for any rerun), and its `requests` / `runs` files are
added to the winner's, which stay listed (the ledgers keep every run). It never adopts the winner's
commit in place of its own: its `runs` row must exist, and its `requests` rows are the attempts it
recorded. Overlapping runs do not pay twice for one request in the first place (the batch ledger's and the
request ledger's conditional records, pipeline/infer/ledgers.py).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import WriteConflictError
from pipeline.storage import S3Location, S3Store
from pipeline.tables.reader import commit_manifest_loc, partition
from pipeline.tables.schemas import REPLACED_PER_RUN, SCHEMA_VERSION, TABLES

# ~128k rows per row group: big enough for scans to read few groups per file (a whole day of one
# table is usually one group), small enough that engines can split large partitions across workers.
ROW_GROUP_ROWS = 128 * 1024
# Lost commit races in a row before giving up (each loss means another run committed in between).
COMMIT_ATTEMPTS = 8
# An unlisted table file younger than this may belong to a run that is about to commit: cleanup spares it
# (the next commit of the date removes it if it was an orphan after all).
ORPHAN_AGE = timedelta(hours=1)
SORT_COLUMNS = ("source_uri", "segment_index", "chunk_index", "request_key")


@dataclass(frozen=True)
class WrittenFile:
    table: str
    path: str  # relative to the destination: "<table>/dt=YYYY-MM-DD/part-<run_id>.parquet"
    rows: int


def to_table(name: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    schema = TABLES[name]
    rows = [{**row, "schema_version": SCHEMA_VERSION} for row in rows]
    missing = {f.name for f in schema if not f.nullable} - ({k for r in rows for k in r} if rows else set())
    if rows and missing:
        raise ValueError(f"{name}: rows lack required columns {sorted(missing)}")
    table = pa.Table.from_pylist(rows, schema=schema)
    sort_keys = [(c, "ascending") for c in SORT_COLUMNS if c in schema.names]
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


def write_file(
    store: S3Store, dest: S3Location, name: str, dt: str, run_id: str, rows: list[dict[str, Any]]
) -> WrittenFile:
    """Phase 1: this run's file for one table and date, under a run-specific name no reader lists yet."""
    path = f"{name}/dt={dt}/part-{run_id}.parquet"
    table = to_table(name, rows)
    store.put_bytes(dest.join(path), parquet_bytes(table), "application/vnd.apache.parquet")
    return WrittenFile(name, path, table.num_rows)


@dataclass(frozen=True)
class CommitBase:
    """The version of the date's commit manifest a run's files were made against (None: no commit yet)."""

    doc: dict[str, Any] | None
    etag: str | None


def commit_base(store: S3Store, dest: S3Location, dt: str) -> CommitBase:
    doc, etag = store.get_json_versioned(commit_manifest_loc(dest, dt))
    return CommitBase(doc, etag)


def commit(
    store: S3Store, dest: S3Location, dt: str, run_id: str, written: list[WrittenFile]
) -> dict[str, Any]:
    """Phase 2, on whatever version of the date's manifest is current (retried on lost races)."""
    doc = commit_on(store, dest, dt, run_id, written, None)
    assert doc is not None, "without a base version a lost race is retried, not returned"
    return doc


def commit_on(
    store: S3Store,
    dest: S3Location,
    dt: str,
    run_id: str,
    written: list[WrittenFile],
    on: CommitBase | None,
) -> dict[str, Any] | None:
    """Phase 2: one PUT of the date's manifest makes `written` the committed view, then old files go.

    Tables not in `written` keep what the previous manifest listed (so `write_partition` can commit
    one table at a time). `on`: the files were made against that version of the manifest (their costs
    depend on what it lists), so the commit is tried once, on that version only; None when another
    run committed the date since (the caller remakes its files and tries again)."""
    loc = commit_manifest_loc(dest, dt)
    for _attempt in range(COMMIT_ATTEMPTS):
        previous, etag = (on.doc, on.etag) if on is not None else store.get_json_versioned(loc)
        doc = _manifest(previous or {"files": []}, dt, run_id, written)
        # Conditional on the version just read: of two runs committing the date at once, exactly one PUT
        # wins; the other re-reads the winner's manifest and commits on top of it (see the module doc).
        won = store.put_json_if_absent(loc, doc) if etag is None else store.put_json_if_match(loc, doc, etag)
        if won is not None:
            break
        if on is not None:
            return None
    else:
        raise WriteConflictError(
            f"committing dt={dt} of run {run_id}: {COMMIT_ATTEMPTS} other commits of the date won in a row; "
            "run the commit again",
            bucket=loc.bucket,
            key=loc.key,
        )
    superseded = {f["path"] for f in (previous or {"files": []})["files"]}
    _remove_unlisted(
        store, dest, dt, {w.table for w in written}, {f["path"] for f in doc["files"]}, superseded
    )
    return doc


def _manifest(previous: dict[str, Any], dt: str, run_id: str, written: list[WrittenFile]) -> dict[str, Any]:
    new_tables = {w.table for w in written}
    files: list[dict[str, Any]] = []
    for entry in previous["files"]:
        # Ledgers keep every earlier run's file; replaced tables keep theirs only if not rewritten now.
        keep = entry["table"] not in new_tables or entry["table"] not in REPLACED_PER_RUN
        if keep and entry["path"] not in {w.path for w in written}:
            files.append(entry)
    files.extend({"table": w.table, "path": w.path, "rows": w.rows, "run_id": run_id} for w in written)
    return {
        "dt": dt,
        "run_id": run_id,
        "committed_at": datetime.now(UTC).isoformat(),
        "schema_version": SCHEMA_VERSION,
        "files": sorted(files, key=lambda f: (f["table"], f["path"])),
    }


def _remove_unlisted(
    store: S3Store, dest: S3Location, dt: str, tables: set[str], listed: set[str], superseded: set[str]
) -> None:
    """Delete files of the committed tables that the manifest no longer names (older runs, orphans of
    a crashed commit). Runs only after the manifest PUT, so manifest readers never miss a file. A file
    younger than ORPHAN_AGE that no manifest ever listed is spared: it may be an overlapping run's,
    written and not yet committed (a superseded file, listed by the previous manifest, goes at once)."""
    prefix = dest.key.rstrip("/") + "/" if dest.key else ""
    spare_after = datetime.now(UTC) - ORPHAN_AGE
    for name in tables:
        for obj in list(store.list(partition(dest, name, dt))):
            young = obj.get("LastModified") is not None and obj["LastModified"] > spare_after
            path = obj["Key"].removeprefix(prefix)
            if path not in listed and (path in superseded or not young):
                store.delete(S3Location(dest.bucket, obj["Key"]))


def write_partition(
    store: S3Store, dest: S3Location, name: str, dt: str, run_id: str, rows: list[dict[str, Any]]
) -> S3Location:
    """Write and commit one table's file (the stage commits all tables at once with `commit`)."""
    written = write_file(store, dest, name, dt, run_id, rows)
    commit(store, dest, dt, run_id, [written])
    return dest.join(written.path)
