"""media_pipeline: every night, the previous day's media from S3 through Gemini into Parquet.

discover -> plan (probe, chunks, estimate, budget guard) -> prepare (ffmpeg) -> infer (Gemini batch)
-> validate (stitch + pydantic) -> commit (tables + costs). All logic lives in the `pipeline` package.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

DEFAULT_ARGS = {
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=30),
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
    params={
        "date": Param(None, type=["null", "string"], format="date", description="override the data date (manual runs)"),
        "source": Param(None, type=["null", "string"], description="s3://bucket/prefix with dt= partitions"),
        "dest": Param(None, type=["null", "string"], description="s3://bucket/prefix for the tables"),
        "model": Param(None, type=["null", "string"], description="Gemini model id"),
        "task": Param(None, type=["null", "string"], description="task name (describe, or package.module:TASK)"),
        "mode": Param(None, type=["null", "string"], enum=[None, "batch", "sync", "auto"], description="inference mode"),
        "budget_usd": Param(None, type=["null", "number"], minimum=0, description="stop before paying above this"),
        "max_items": Param(None, type=["null", "integer"], minimum=1, description="process at most N objects"),
        "dry_run": Param(False, type="boolean", description="plan and estimate only"),
    },
)
def media_pipeline():
    from pipeline.airflow.runs import run_stage

    @task(execution_timeout=timedelta(minutes=30))
    def discover() -> int:
        from pipeline.runner import stage_discover

        return len(run_stage(stage_discover, get_current_context()).items)

    @task(execution_timeout=timedelta(hours=2))
    def plan(_: int) -> str:
        from pipeline.runner import stage_plan

        return run_stage(stage_plan, get_current_context()).estimated_cost_usd

    @task.short_circuit
    def paying(_: str) -> bool:
        return not get_current_context()["params"].get("dry_run")

    @task(execution_timeout=timedelta(hours=4))
    def prepare() -> None:
        from pipeline.runner import stage_prepare

        run_stage(stage_prepare, get_current_context())

    @task(execution_timeout=timedelta(hours=26))
    def infer() -> None:
        from pipeline.runner import stage_infer

        run_stage(stage_infer, get_current_context())

    @task(execution_timeout=timedelta(hours=1))
    def validate() -> None:
        from pipeline.runner import stage_validate

        run_stage(stage_validate, get_current_context())

    @task(execution_timeout=timedelta(hours=1))
    def commit() -> dict:
        from pipeline.runner import stage_commit

        return run_stage(stage_commit, get_current_context()).model_dump(mode="json")

    gate = paying(plan(discover()))
    gate >> prepare() >> infer() >> validate() >> commit()


media_pipeline()
