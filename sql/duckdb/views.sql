-- DuckDB views over the pipeline's output tables, honouring the commit manifests.
--
-- Set the dataset root first (a local copy or the S3 destination itself):
--     SET VARIABLE root = 's3://media-results/gemini';   -- or '/path/to/demo-output'
-- For s3:// roots load httpfs and create an S3 secret (see sql/README.md).
--
-- Each date's manifest `_commits/dt=YYYY-MM-DD.json` lists the files of the committed run(s); the
-- views read only those, so they show exactly the committed view even while a rerun is writing or
-- cleaning up. `dt` comes from the Hive path.

CREATE OR REPLACE VIEW committed_files AS
SELECT dt, run_id AS commit_run_id, committed_at, file."table" AS table_name, file.path AS path, file.rows AS rows
FROM (SELECT dt, run_id, committed_at, unnest(files) AS file FROM read_json(getvariable('root') || '/_commits/*.json'));

CREATE OR REPLACE VIEW media AS
SELECT * EXCLUDE (filename)
FROM read_parquet(getvariable('root') || '/media/*/*.parquet', hive_partitioning = true, filename = true, union_by_name = true)
WHERE regexp_extract(filename, 'media/dt=[^/]+/[^/]+$') IN (SELECT path FROM committed_files WHERE table_name = 'media');

CREATE OR REPLACE VIEW annotations AS
SELECT * EXCLUDE (filename)
FROM read_parquet(getvariable('root') || '/annotations/*/*.parquet', hive_partitioning = true, filename = true, union_by_name = true)
WHERE regexp_extract(filename, 'annotations/dt=[^/]+/[^/]+$') IN (SELECT path FROM committed_files WHERE table_name = 'annotations');

CREATE OR REPLACE VIEW segments AS
SELECT * EXCLUDE (filename)
FROM read_parquet(getvariable('root') || '/segments/*/*.parquet', hive_partitioning = true, filename = true, union_by_name = true)
WHERE regexp_extract(filename, 'segments/dt=[^/]+/[^/]+$') IN (SELECT path FROM committed_files WHERE table_name = 'segments');

CREATE OR REPLACE VIEW requests AS
SELECT * EXCLUDE (filename)
FROM read_parquet(getvariable('root') || '/requests/*/*.parquet', hive_partitioning = true, filename = true, union_by_name = true)
WHERE regexp_extract(filename, 'requests/dt=[^/]+/[^/]+$') IN (SELECT path FROM committed_files WHERE table_name = 'requests');

CREATE OR REPLACE VIEW runs AS
SELECT * EXCLUDE (filename)
FROM read_parquet(getvariable('root') || '/runs/*/*.parquet', hive_partitioning = true, filename = true, union_by_name = true)
WHERE regexp_extract(filename, 'runs/dt=[^/]+/[^/]+$') IN (SELECT path FROM committed_files WHERE table_name = 'runs');

CREATE OR REPLACE VIEW quarantine AS
SELECT * EXCLUDE (filename)
FROM read_parquet(getvariable('root') || '/quarantine/*/*.parquet', hive_partitioning = true, filename = true, union_by_name = true)
WHERE regexp_extract(filename, 'quarantine/dt=[^/]+/[^/]+$') IN (SELECT path FROM committed_files WHERE table_name = 'quarantine');
