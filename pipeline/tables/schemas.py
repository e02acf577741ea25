"""Explicit Arrow schemas of the output tables: the one definition analysts' SQL relies on.

Add columns freely; never rename or retype one (bump SCHEMA_VERSION when adding). `dt` is the Hive
partition column: it is in the path (dt=YYYY-MM-DD), not in the files, so engines read it from there.
Every column is described in sql/README.md (a test fails when one is not).

Strings stay plain `string` in the schema (what Athena/Trino DDL and DuckDB expect); the writer
dictionary-encodes them in Parquet, where low-cardinality columns (status, media_type, model, ...)
shrink to a few bytes per row. Timestamps are UTC microseconds.

Version history: 1 walking skeleton; 2 media.reason, requests.reask_of, runs.items_reused /
requests_reasked / failure_share / validation_success; 3 requests.model_version / billed_model /
thinking_level / answered_at, media.estimated_cost_upper_usd, runs.estimated_cost_upper_usd /
thought_tokens / routed_requests / routed / latency / warnings / estimate_basis; 4 media.decoder /
animation; 5 media.decodable_duration_s; 6 media.dynamic_range; 7 media.audio_tracks / subtitle_tracks.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 7
MONEY = pa.decimal128(18, 9)  # USD, exact to the nano-dollar: sums add up exactly in every engine
TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
# Request latency of one (mode, answering model) in a run, nearest-rank percentiles in milliseconds.
LATENCY = pa.struct(
    [
        pa.field("mode", STR),
        pa.field("model", STR),
        pa.field("requests", pa.int32()),
        pa.field("p50_ms", pa.int64()),
        pa.field("p95_ms", pa.int64()),
        pa.field("p99_ms", pa.int64()),
    ]
)
# Requests of a run that another model answered than the one asked (the service's routing).
ROUTED = pa.struct([pa.field("requested", STR), pa.field("answered", STR), pa.field("requests", pa.int32())])


def _schema(name: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={"table": name, "schema_version": str(SCHEMA_VERSION)})


MEDIA = _schema(
    "media",
    [
        pa.field("run_id", STR, nullable=False),
        pa.field("source_uri", STR, nullable=False),
        pa.field("sha256", STR),
        pa.field("etag", STR),
        pa.field("media_type", STR, nullable=False),
        pa.field("mime_type", STR),
        pa.field("bytes", pa.int64()),
        pa.field("duration_s", pa.float64()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("status", STR, nullable=False),
        pa.field("error", STR),
        pa.field("chunks", pa.int32()),
        pa.field("estimated_cost_usd", MONEY),
        pa.field("cost_usd", MONEY),
        pa.field("reused_from_run_id", STR),
        pa.field("schema_version", pa.int16()),
        pa.field("reason", STR),
        pa.field("estimated_cost_upper_usd", MONEY),
        pa.field("decoder", STR),
        pa.field("animation", STR),
        pa.field("decodable_duration_s", pa.float64()),
        pa.field("dynamic_range", STR),
        pa.field("audio_tracks", pa.int16()),
        pa.field("subtitle_tracks", pa.int16()),
    ],
)

ANNOTATIONS = _schema(
    "annotations",
    [
        pa.field("run_id", STR, nullable=False),
        pa.field("source_uri", STR, nullable=False),
        pa.field("sha256", STR),
        pa.field("media_type", STR),
        pa.field("summary", STR),
        pa.field("tags", pa.list_(STR)),
        pa.field("language", STR),
        pa.field("model", STR, nullable=False),
        pa.field("task", STR, nullable=False),
        pa.field("task_version", STR, nullable=False),
        pa.field("answer_json", STR),
        pa.field("schema_version", pa.int16()),
    ],
)

SEGMENTS = _schema(
    "segments",
    [
        pa.field("run_id", STR, nullable=False),
        pa.field("source_uri", STR, nullable=False),
        pa.field("segment_index", pa.int32(), nullable=False),
        pa.field("start_s", pa.float64(), nullable=False),
        pa.field("end_s", pa.float64(), nullable=False),
        pa.field("label", STR),
        pa.field("description", STR),
        pa.field("chunk_indexes", pa.list_(pa.int32())),
        pa.field("schema_version", pa.int16()),
    ],
)

REQUESTS = _schema(
    "requests",
    [
        pa.field("run_id", STR, nullable=False),
        pa.field("request_key", STR, nullable=False),
        pa.field("attempt", pa.int16()),
        pa.field("source_uri", STR, nullable=False),
        pa.field("chunk_index", pa.int32()),
        pa.field("chunk_start_s", pa.float64()),
        pa.field("chunk_end_s", pa.float64()),
        pa.field("model", STR, nullable=False),
        pa.field("mode", STR, nullable=False),
        pa.field("batch_job", STR),
        pa.field("status", STR, nullable=False),
        pa.field("finish_reason", STR),
        pa.field("error", STR),
        pa.field("prompt_tokens_text", pa.int64()),
        pa.field("prompt_tokens_image", pa.int64()),
        pa.field("prompt_tokens_video", pa.int64()),
        pa.field("prompt_tokens_audio", pa.int64()),
        pa.field("cached_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("thought_tokens", pa.int64()),
        pa.field("latency_ms", pa.int64()),
        pa.field("cost_usd", MONEY),
        pa.field("price_table_version", STR),
        pa.field("schema_version", pa.int16()),
        pa.field("reask_of", STR),
        pa.field("model_version", STR),
        pa.field("billed_model", STR),
        pa.field("thinking_level", STR),
        pa.field("answered_at", TS),
    ],
)

RUNS = _schema(
    "runs",
    [
        pa.field("run_id", STR, nullable=False),
        pa.field("started_at", TS, nullable=False),
        pa.field("finished_at", TS),
        pa.field("model", STR, nullable=False),
        pa.field("task", STR),
        pa.field("task_version", STR),
        pa.field("mode", STR),
        pa.field("source", STR),
        pa.field("items_total", pa.int32()),
        pa.field("items_ok", pa.int32()),
        pa.field("items_failed", pa.int32()),
        pa.field("items_duplicate", pa.int32()),
        pa.field("items_quarantined", pa.int32()),
        pa.field("requests", pa.int32()),
        pa.field("estimated_cost_usd", MONEY),
        pa.field("cost_usd", MONEY),
        pa.field("budget_usd", MONEY),
        pa.field("price_table_version", STR),
        pa.field("status", STR, nullable=False),
        pa.field("schema_version", pa.int16()),
        pa.field("items_reused", pa.int32()),
        pa.field("requests_reasked", pa.int32()),
        pa.field("failure_share", pa.float64()),
        pa.field("validation_success", pa.bool_()),
        pa.field("estimated_cost_upper_usd", MONEY),
        pa.field("thought_tokens", pa.int64()),
        pa.field("routed_requests", pa.int32()),
        pa.field("routed", pa.list_(ROUTED)),
        pa.field("latency", pa.list_(LATENCY)),
        pa.field("warnings", pa.list_(STR)),
        pa.field("estimate_basis", STR),
    ],
)

QUARANTINE = _schema(
    "quarantine",
    [
        pa.field("run_id", STR, nullable=False),
        pa.field("source_uri", STR, nullable=False),
        pa.field("stage", STR, nullable=False),
        pa.field("reason", STR, nullable=False),
        pa.field("detail", STR),
        pa.field("schema_version", pa.int16()),
    ],
)

TABLES: dict[str, pa.Schema] = {
    "media": MEDIA,
    "annotations": ANNOTATIONS,
    "segments": SEGMENTS,
    "requests": REQUESTS,
    "runs": RUNS,
    "quarantine": QUARANTINE,
}
# Latest run's view per dt (a rerun replaces the partition) vs append-only ledgers (history kept).
REPLACED_PER_RUN = ("media", "annotations", "segments", "quarantine")
APPEND_ONLY = ("requests", "runs")
