-- annotations: generated from pipeline/tables/schemas.py (schema_version 7).
-- Replace s3://YOUR-BUCKET/YOUR-PREFIX with the pipeline's --dest, and the projection range start.
CREATE EXTERNAL TABLE IF NOT EXISTS media_pipeline.annotations (
  `run_id` string,
  `source_uri` string,
  `sha256` string,
  `media_type` string,
  `summary` string,
  `tags` array<string>,
  `language` string,
  `model` string,
  `task` string,
  `task_version` string,
  `answer_json` string,
  `schema_version` smallint
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/annotations/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2026-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/YOUR-PREFIX/annotations/dt=${dt}/'
);
