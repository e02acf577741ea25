"""The Great Expectations suite of each output table: what analysts may rely on in every committed row.

Suites run on validation frames (pipeline.validate.frames): the table's rows plus a few derived columns
(`tag_count`, the segment's `media_duration_s`, the runs row's observed counts), so cross-table rules are
plain column expectations and every failing row points at one source.
"""

from __future__ import annotations

import great_expectations as gx
from great_expectations import expectations as gxe

from pipeline.models import ItemStatus, MediaType

MEDIA_STATUSES = sorted(s.value for s in ItemStatus)
MEDIA_TYPES = sorted(t.value for t in MediaType)
REQUEST_MODES = ["batch", "sync", "cache"]  # cache: a run's context-cache storage
REQUEST_STATUSES = ["error", "ok"]
QUARANTINE_STAGES = ["discover", "infer", "plan", "prepare", "probe", "validate"]
RUN_STATUSES = ["failed_quality", "succeeded", "succeeded_with_failures"]

# Tables whose failing rows name a source: those items are quarantined. A failure in `runs` or
# `quarantine` is about the run as a whole and fails it instead.
ITEM_TABLES = ("media", "annotations", "segments", "requests")


def _not_null(*columns: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in columns]


def _non_negative(*columns: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in columns]


def _expectations(table: str) -> list[gxe.Expectation]:
    if table == "media":
        return [
            *_not_null("run_id", "source_uri", "status", "media_type"),
            gxe.ExpectColumnValuesToBeUnique(column="source_uri"),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=MEDIA_STATUSES),
            gxe.ExpectColumnValuesToBeInSet(column="media_type", value_set=MEDIA_TYPES),
            *_non_negative("cost_usd", "estimated_cost_usd", "bytes", "chunks", "duration_s"),
        ]
    if table == "annotations":
        return [
            *_not_null("run_id", "source_uri", "model", "task_version"),
            gxe.ExpectColumnValuesToBeUnique(column="source_uri"),
            # tags non-empty for ok items: only ok items have annotations
            gxe.ExpectColumnValuesToBeBetween(column="tag_count", min_value=1),
            gxe.ExpectColumnValueLengthsToBeBetween(column="summary", min_value=1),
        ]
    if table == "segments":
        return [
            *_not_null("run_id", "source_uri", "segment_index", "start_s", "end_s"),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["source_uri", "segment_index"]),
            gxe.ExpectColumnValuesToBeBetween(column="start_s", min_value=0),
            # 0 <= start_s < end_s <= duration_s of the source (joined from media)
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end_s", column_B="start_s", or_equal=False),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="media_duration_s", column_B="end_s", or_equal=True, ignore_row_if="neither"
            ),
        ]
    if table == "requests":
        return [
            *_not_null("run_id", "request_key", "source_uri", "model", "mode", "status"),
            # a retried request keeps every billed attempt: the key is (request_key, attempt)
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["request_key", "attempt"]),
            gxe.ExpectColumnValuesToBeInSet(column="mode", value_set=REQUEST_MODES),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=REQUEST_STATUSES),
            *_non_negative(
                "cost_usd",
                "prompt_tokens_text",
                "prompt_tokens_image",
                "prompt_tokens_video",
                "prompt_tokens_audio",
                "output_tokens",
                "thought_tokens",
            ),
        ]
    if table == "quarantine":
        return [
            *_not_null("run_id", "source_uri", "stage", "reason"),
            gxe.ExpectColumnValuesToBeInSet(column="stage", value_set=QUARANTINE_STAGES),
        ]
    if table == "runs":
        return [
            *_not_null("run_id", "started_at", "model", "status"),
            gxe.ExpectTableRowCountToEqual(value=1),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=RUN_STATUSES),
            *_non_negative("cost_usd", "estimated_cost_usd", "estimated_cost_upper_usd"),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="estimated_cost_upper_usd", column_B="estimated_cost_usd", or_equal=True
            ),
            # row counts and money consistent between runs, media and requests
            gxe.ExpectColumnPairValuesToBeEqual(column_A="requests", column_B="observed_requests"),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="items_total", column_B="observed_media"),
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="cost_usd_exact", column_B="observed_media_cost_usd"
            ),
            gxe.ExpectColumnPairValuesToBeEqual(
                column_A="cost_usd_exact", column_B="observed_request_cost_usd"
            ),
        ]
    raise KeyError(f"no expectation suite for table {table!r}")


def build_suite(table: str) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=table, meta={"table": table})
    for expectation in _expectations(table):
        suite.add_expectation(expectation)
    return suite


SUITE_TABLES = ("media", "annotations", "segments", "requests", "quarantine", "runs")
