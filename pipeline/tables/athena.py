"""Athena / Trino DDL rendered from the Arrow schemas: `python -m pipeline.tables.athena sql/athena`
rewrites sql/athena/<table>.sql after a schema change (tests/sql checks the files match the schemas).

Partition projection on `dt` means no `MSCK REPAIR` / crawler: Athena derives the partitions from the
date range. Athena reads every Parquet file under a partition (it does not know our commit manifest),
see sql/README.md for what that means during a rerun.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa

from pipeline.tables.schemas import TABLES


def athena_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_dictionary(t):
        return "string"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_int16(t):
        return "smallint"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t):
        return f"array<{athena_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{athena_type(f.type)}" for f in t) + ">"
    raise TypeError(f"no Athena type for {t}")


def render(name: str) -> str:
    schema = TABLES[name]
    columns = ",\n".join(f"  `{f.name}` {athena_type(f.type)}" for f in schema)
    return f"""-- {name}: generated from pipeline/tables/schemas.py (schema_version {schema.metadata[b"schema_version"].decode()}).
-- Replace s3://YOUR-BUCKET/YOUR-PREFIX with the pipeline's --dest, and the projection range start.
CREATE EXTERNAL TABLE IF NOT EXISTS media_pipeline.{name} (
{columns}
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/{name}/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2026-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/YOUR-PREFIX/{name}/dt=${{dt}}/'
);
"""


def main(out: str) -> None:
    for name in TABLES:
        Path(out, f"{name}.sql").write_text(render(name))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sql/athena")
