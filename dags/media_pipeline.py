"""media_pipeline: every night, the previous day's media from S3 through Gemini into Parquet.

discover -> plan (probe, chunks, estimate, budget guard) -> paying (dry-run gate) -> item_groups
-> prepare (ffmpeg, mapped over item groups) -> merge_prepared -> infer (Gemini batch, deferred)
-> validate (stitch + pydantic) -> commit (tables + costs, Asset event).

Wiring only: the work lives in the `pipeline` package (pipeline.run stages, pipeline.airflow glue).
S3 comes from the `aws_default` connection, Gemini from `gemini_default`; pools `ffmpeg` and
`gemini_api` cap concurrent media work and Gemini calls (create them: see README "Operations").
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import (
    AsyncCallback,
    CronDataIntervalTimetable,
    DeadlineAlert,
    DeadlineReference,
    Param,
    dag,
    get_current_context,
    task,
)

from pipeline.airflow.assets import MEDIA_TABLES
from pipeline.airflow.callbacks import on_task_failure, run_overdue
from pipeline.airflow.operators import GeminiBatchInferOperator

DEFAULT_ARGS = {
    "retries": 2,  # TransientError (throttling, 5xx, timeouts) retries; TerminalError fails at once
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "on_failure_callback": on_task_failure,
    "execution_timeout": timedelta(minutes=30),  # overridden where a task may take longer
}
S3_URI = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"


def _p(default, types, description, **schema):  # noqa: ANN001, ANN202 - a nullable Param, briefly
    return Param(default, type=["null", *types], description=description, **schema)


@dag(
    dag_id="media_pipeline",
    # Runs at 02:00 UTC for the interval [D 02:00, D+1 02:00): dt = D, the data interval's start date.
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["media", "gemini"],
    doc_md=__doc__,
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(hours=20),
        callback=AsyncCallback(run_overdue),
    ),
    params={
        "date": _p(
            None, ["string"], "data date YYYY-MM-DD for manual runs without a logical date", format="date"
        ),
        "source": _p(
            None, ["string"], "s3://bucket/prefix holding dt=YYYY-MM-DD/ partitions", pattern=S3_URI
        ),
        "dest": _p(None, ["string"], "s3://bucket/prefix the tables are written under", pattern=S3_URI),
        "model": _p(
            None, ["string"], "Gemini model id, e.g. gemini-3.8-flash", pattern=r"^gemini-[a-z0-9.\-]+$"
        ),
        "task": _p(None, ["string"], "task name (describe) or package.module:TASK"),
        "mode": _p(
            None,
            ["string"],
            "inference mode: batch (50% price), sync, auto",
            enum=[None, "batch", "sync", "auto"],
        ),
        "budget_usd": _p(
            None, ["number"], "fail before paying when the estimate exceeds this (USD)", minimum=0
        ),
        "max_items": _p(None, ["integer"], "process at most N objects (smoke runs)", minimum=1),
        "max_chunk_seconds": _p(
            None, ["number"], "upper bound on one chunk (s)", exclusiveMinimum=0, maximum=3600
        ),
        "video_fps": _p(None, ["number"], "frame rate chunks are reduced to", exclusiveMinimum=0, maximum=24),
        "max_height": _p(
            None, ["integer"], "downscale chunks to at most this height (px)", minimum=64, maximum=2160
        ),
        "keep_audio": _p(None, ["boolean"], "keep a mono low-rate audio track in video chunks"),
        "audio_model": _p(
            None,
            ["string"],
            "model for a video's sound, sent as its own request (describe: gemini-3.5-flash-lite); "
            "'none' keeps the sound in the video request",
            pattern=r"^(none|gemini-[a-z0-9.\-]+)$",
        ),
        "dry_run": Param(
            False, type="boolean", description="plan and estimate only: no model call, no tables"
        ),
    },
)
def media_pipeline():
    from pipeline.airflow.runs import run_stage

    @task(execution_timeout=timedelta(minutes=30))
    def discover() -> int:
        from pipeline.discover import stage_discover

        return len(run_stage(stage_discover, get_current_context()).items)

    @task(execution_timeout=timedelta(hours=2), multiple_outputs=False)
    def plan(_: int) -> dict:
        from pipeline.airflow.callbacks import budget_warning
        from pipeline.airflow.connections import gemini_connection
        from pipeline.plan import BUDGET_WARNING_SHARE, stage_plan

        context = get_current_context()
        manifest = run_stage(lambda ctx: stage_plan(ctx, gemini_connection()), context)
        upper, budget = float(manifest.estimated_cost_upper_usd), manifest.budget_usd
        if budget and upper >= budget * BUDGET_WARNING_SHARE:
            budget_warning(context, manifest.estimated_cost_upper_usd, budget, upper / budget)
        return {
            "estimated_cost_usd": manifest.estimated_cost_usd,
            "estimated_cost_upper_usd": manifest.estimated_cost_upper_usd,
            "budget_usd": budget,
        }

    @task.short_circuit
    def paying(_: dict) -> bool:
        return not get_current_context()["params"].get("dry_run")

    @task
    def item_groups() -> list[str]:
        from pipeline.airflow.groups import plan_groups

        return run_stage(lambda ctx: plan_groups(ctx.load()), get_current_context())

    @task(
        pool="ffmpeg",
        execution_timeout=timedelta(hours=2),
        map_index_template="items {{ group_id }}",
        multiple_outputs=False,
    )
    def prepare(group_id: str) -> dict:
        from pipeline.airflow.groups import prepare_group

        return run_stage(lambda ctx: prepare_group(ctx, group_id), get_current_context())

    @task(trigger_rule="none_failed", execution_timeout=timedelta(hours=1))
    def merge_prepared() -> None:
        from pipeline.airflow.groups import merge_groups

        run_stage(merge_groups, get_current_context())

    infer = GeminiBatchInferOperator(
        task_id="infer", pool="gemini_api", execution_timeout=timedelta(hours=26)
    )

    @task(execution_timeout=timedelta(hours=1))
    def validate() -> None:
        from pipeline.validate import stage_validate

        run_stage(stage_validate, get_current_context())

    @task(outlets=[MEDIA_TABLES], execution_timeout=timedelta(hours=1), multiple_outputs=False)
    def commit() -> dict:
        from pipeline.airflow.assets import event_extra
        from pipeline.airflow.callbacks import latency_alert
        from pipeline.commit import stage_commit

        context = get_current_context()
        summary = run_stage(stage_commit, context).model_dump(mode="json")
        context["outlet_events"][MEDIA_TABLES].extra = event_extra(summary)
        if summary["latency_alerts"]:
            latency_alert(context, summary["latency_alerts"], summary["latency"])
        return summary

    groups = item_groups()
    paying(plan(discover())) >> groups
    prepare.expand(group_id=groups) >> merge_prepared() >> infer >> validate() >> commit()


media_pipeline()
