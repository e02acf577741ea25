"""media_pipeline: every night, the previous day's media from S3 through Gemini into Parquet.

discover -> plan_groups -> plan (probe, chunks, estimate; mapped over item groups) -> merge_plan
(duplicates, budget guard, model check) -> paying (dry-run gate) -> item_groups
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
from pipeline.airflow.params import setting_params

DEFAULT_ARGS = {
    "retries": 2,  # TransientError (throttling, 5xx, timeouts) retries; TerminalError fails at once
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
    "on_failure_callback": on_task_failure,
    "execution_timeout": timedelta(minutes=30),  # overridden where a task may take longer
}


# plan and prepare are mapped over the same item groups, each group one ffmpeg-pool task
PER_GROUP: dict = {
    "pool": "ffmpeg",
    "execution_timeout": timedelta(hours=2),
    "map_index_template": "items {{ group_id }}",
    "multiple_outputs": False,
}


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
        "date": Param(
            None,
            type=["null", "string"],
            description="data date YYYY-MM-DD for manual runs without a logical date",
            format="date",
        ),
        # Every per-run setting, made from its declaration in pipeline/config.py; the form shows the
        # defaults a run would use (see pipeline/airflow/params.py).
        **setting_params(),
    },
)
def media_pipeline():
    from pipeline.airflow.runs import run_stage

    @task(execution_timeout=timedelta(minutes=30))
    def discover() -> int:
        from pipeline.discover import stage_discover

        return len(run_stage(stage_discover, get_current_context()).items)

    @task
    def plan_groups(_: int) -> list[str]:
        from pipeline.airflow.groups import plan_groups

        return run_stage(lambda ctx: plan_groups(ctx.load()), get_current_context())

    @task(**PER_GROUP)
    def plan(group_id: str) -> dict:
        from pipeline.airflow.groups import plan_group

        return run_stage(lambda ctx: plan_group(ctx, group_id), get_current_context())

    @task(trigger_rule="none_failed", execution_timeout=timedelta(hours=1), multiple_outputs=False)
    def merge_plan() -> dict:
        from pipeline.airflow.callbacks import budget_warning
        from pipeline.airflow.groups import merge_plan
        from pipeline.airflow.runs import gemini_client
        from pipeline.plan import near_budget

        context = get_current_context()
        manifest = run_stage(lambda ctx: merge_plan(ctx, gemini_client()), context)
        if (share := near_budget(manifest)) is not None:
            budget_warning(context, manifest, share)
        # XCom holds JSON: money as decimal strings, never floats.
        return {
            "estimated_cost_usd": str(manifest.estimated_cost_usd),
            "estimated_cost_upper_usd": str(manifest.estimated_cost_upper_usd),
            "budget_usd": None if manifest.budget_usd is None else str(manifest.budget_usd),
        }

    @task.short_circuit
    def paying(_: dict) -> bool:
        return not get_current_context()["params"].get("dry_run")

    @task
    def item_groups() -> list[str]:
        from pipeline.airflow.groups import plan_groups

        return run_stage(lambda ctx: plan_groups(ctx.load()), get_current_context())

    @task(**PER_GROUP)
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
        from pipeline.airflow.runs import gemini_client
        from pipeline.validate import stage_validate

        # Invalid answers are re-asked once, synchronously: the client comes from the Airflow connection.
        run_stage(lambda ctx: stage_validate(ctx, gemini_client()), get_current_context())

    @task(outlets=[MEDIA_TABLES], execution_timeout=timedelta(hours=1), multiple_outputs=False)
    def commit() -> dict:
        from pipeline.airflow.assets import event_extra
        from pipeline.airflow.callbacks import latency_alert
        from pipeline.commit import stage_commit

        context = get_current_context()
        summary = run_stage(stage_commit, context, last=True).model_dump(mode="json")
        context["outlet_events"][MEDIA_TABLES].extra = event_extra(summary)
        if summary["latency_alerts"]:
            latency_alert(context, summary["latency_alerts"], summary["latency"])
        return summary

    estimate = merge_plan()
    plan.expand(group_id=plan_groups(discover())) >> estimate
    groups = item_groups()
    paying(estimate) >> groups
    prepare.expand(group_id=groups) >> merge_prepared() >> infer >> validate() >> commit()


media_pipeline()
