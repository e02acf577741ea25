-- runs: generated from pipeline/tables/schemas.py (schema_version 7).
-- Replace s3://YOUR-BUCKET/YOUR-PREFIX with the pipeline's --dest, and the projection range start.
CREATE EXTERNAL TABLE IF NOT EXISTS media_pipeline.runs (
  `run_id` string,
  `started_at` timestamp,
  `finished_at` timestamp,
  `model` string,
  `task` string,
  `task_version` string,
  `mode` string,
  `source` string,
  `items_total` int,
  `items_ok` int,
  `items_failed` int,
  `items_duplicate` int,
  `items_quarantined` int,
  `requests` int,
  `estimated_cost_usd` decimal(18,9),
  `cost_usd` decimal(18,9),
  `budget_usd` decimal(18,9),
  `price_table_version` string,
  `status` string,
  `schema_version` smallint,
  `items_reused` int,
  `requests_reasked` int,
  `failure_share` double,
  `validation_success` boolean,
  `estimated_cost_upper_usd` decimal(18,9),
  `thought_tokens` bigint,
  `routed_requests` int,
  `routed` array<struct<requested:string,answered:string,requests:int>>,
  `latency` array<struct<mode:string,model:string,requests:int,p50_ms:bigint,p95_ms:bigint,p99_ms:bigint>>,
  `warnings` array<string>,
  `estimate_basis` string
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/runs/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2026-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/YOUR-PREFIX/runs/dt=${dt}/'
);
