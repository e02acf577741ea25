-- media: generated from pipeline/tables/schemas.py (schema_version 7).
-- Replace s3://YOUR-BUCKET/YOUR-PREFIX with the pipeline's --dest, and the projection range start.
CREATE EXTERNAL TABLE IF NOT EXISTS media_pipeline.media (
  `run_id` string,
  `source_uri` string,
  `sha256` string,
  `etag` string,
  `media_type` string,
  `mime_type` string,
  `bytes` bigint,
  `duration_s` double,
  `width` int,
  `height` int,
  `status` string,
  `error` string,
  `chunks` int,
  `estimated_cost_usd` decimal(18,9),
  `cost_usd` decimal(18,9),
  `reused_from_run_id` string,
  `schema_version` smallint,
  `reason` string,
  `estimated_cost_upper_usd` decimal(18,9),
  `decoder` string,
  `animation` string,
  `decodable_duration_s` double,
  `dynamic_range` string,
  `audio_tracks` smallint,
  `subtitle_tracks` smallint
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/media/'
TBLPROPERTIES (
  'parquet.compression'='ZSTD',
  'projection.enabled'='true',
  'projection.dt.type'='date',
  'projection.dt.format'='yyyy-MM-dd',
  'projection.dt.range'='2026-01-01,NOW',
  'projection.dt.interval'='1',
  'projection.dt.interval.unit'='DAYS',
  'storage.location.template'='s3://YOUR-BUCKET/YOUR-PREFIX/media/dt=${dt}/'
);
