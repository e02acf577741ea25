-- requests: generated from pipeline/tables/schemas.py (schema_version 7).
-- Replace s3://YOUR-BUCKET/YOUR-PREFIX with the pipeline's --dest, and the projection range start.
CREATE EXTERNAL TABLE IF NOT EXISTS media_pipeline.requests (
  `run_id` string,
  `request_key` string,
  `attempt` smallint,
  `source_uri` string,
  `chunk_index` int,
  `chunk_start_s` double,
  `chunk_end_s` double,
  `model` string,
  `mode` string,
  `batch_job` string,
  `status` string,
  `finish_reason` string,
  `error` string,
  `prompt_tokens_text` bigint,
  `prompt_tokens_image` bigint,
  `prompt_tokens_video` bigint,
  `prompt_tokens_audio` bigint,
  `cached_tokens` bigint,
  `output_tokens` bigint,
  `thought_tokens` bigint,
  `latency_ms` bigint,
  `cost_usd` decimal(18,9),
  `price_table_version` string,
  `schema_version` smallint,
  `reask_of` string,
  `model_version` string,
  `billed_model` string,
  `thinking_level` string,
  `answered_at` timestamp
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/requests/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2026-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/YOUR-PREFIX/requests/dt=${dt}/'
);
