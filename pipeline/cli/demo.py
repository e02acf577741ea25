"""`media-pipeline demo`: the whole job on embedded S3 + the Gemini emulator, on sample media with
known ground truth (or the user's own files)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import duckdb

from pipeline.config import Settings
from pipeline.discover import date_prefix
from pipeline.storage import S3Location, S3Store

EXAMPLE_QUERY = """
WITH seg AS (
    SELECT source_uri, count(*) AS segments
    FROM read_parquet('{root}/segments/*/*.parquet', hive_partitioning = true) GROUP BY source_uri
)
SELECT m.media_type, m.status, count(*) AS items, round(sum(m.duration_s), 1) AS media_seconds,
       sum(coalesce(seg.segments, 0)) AS segments, sum(m.cost_usd) AS cost_usd
FROM read_parquet('{root}/media/*/*.parquet', hive_partitioning = true) m
LEFT JOIN seg USING (source_uri)
GROUP BY ALL ORDER BY ALL
"""


def upload_media(store: S3Store, settings: Settings, dt: date, media_dir: Path) -> int:
    source = S3Location.parse(settings.source)
    store.ensure_bucket(source.bucket)
    store.ensure_bucket(S3Location.parse(settings.dest).bucket)
    prefix = date_prefix(source, dt)
    count = 0
    for path in sorted(media_dir.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.name != "ground_truth.json":
            store.upload(path, prefix.join(str(path.relative_to(media_dir))))
            count += 1
    return count


def download_tables(store: S3Store, dest: S3Location, out: Path) -> Path:
    """Copy every table (not staging or ledgers) to `out`, keeping the Hive layout."""
    out.mkdir(parents=True, exist_ok=True)
    for obj in store.list(dest):
        relative = obj["Key"][len(dest.key) :].lstrip("/")
        if relative.startswith("_"):
            continue
        target = out / relative
        store.download(S3Location(dest.bucket, obj["Key"]), target)
    return out


def example_query(root: Path) -> tuple[list[str], list[tuple[object, ...]]]:
    with duckdb.connect() as con:
        result = con.execute(EXAMPLE_QUERY.format(root=root.as_posix()))
        columns = [d[0] for d in result.description]
        return columns, result.fetchall()


def sample_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="media-pipeline-samples-"))
