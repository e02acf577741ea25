"""Turn an Airflow task context into the pipeline's RunContext, and pipeline errors into Airflow's."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from pipeline.airflow.connections import AWS_CONN_ID, s3_store
from pipeline.config import Settings
from pipeline.errors import TerminalError

if TYPE_CHECKING:  # the run pulls in pyarrow and google-genai: import it when a task runs
    from pipeline.run import RunContext

T = TypeVar("T")

# Params a user may set per run (UI form / dag_run.conf); everything else comes from MEDIA_PIPELINE_*.
SETTING_PARAMS = (
    "source",
    "dest",
    "model",
    "task",
    "mode",
    "budget_usd",
    "max_items",
    "dry_run",
    "max_chunk_seconds",
    "overlap_seconds",
    "video_fps",
    "max_height",
    "keep_audio",
    "audio_model",
    "media_resolution",
)


def run_date(context: Mapping[str, Any]) -> date:
    """The data date: the start of the data interval. A manual run without a logical date uses the
    `date` param, or the day before it was requested."""
    params = context.get("params") or {}
    if params.get("date"):
        return date.fromisoformat(str(params["date"]))
    start = context.get("data_interval_start")
    if start is not None:
        return start.date()
    run_after = context["dag_run"].run_after
    return (run_after - timedelta(days=1)).date()


def settings_from(context: Mapping[str, Any]) -> Settings:
    params = context.get("params") or {}
    overrides = {k: params[k] for k in SETTING_PARAMS if params.get(k) not in (None, "")}
    return Settings(**overrides)


def run_context(context: Mapping[str, Any], aws_conn_id: str = AWS_CONN_ID) -> RunContext:
    """The pipeline's RunContext for this DAG run, its S3 client from the Airflow AWS connection."""
    from pipeline.run import RunContext, run_id_from

    dag_run = context["dag_run"]
    return RunContext(
        settings_from(context),
        run_date(context),
        run_id_from(f"{dag_run.dag_id}-{dag_run.run_id}"),
        store=s3_store(aws_conn_id),
    )


@contextmanager
def airflow_errors() -> Iterator[None]:
    """Terminal pipeline errors fail the task without retries; transient ones propagate (-> retry)."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except TerminalError as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def run_stage(stage: Callable[[RunContext], T], context: Mapping[str, Any]) -> T:
    """Run one stage; terminal pipeline errors fail the task without retries."""
    ctx = run_context(context)
    try:
        with airflow_errors():
            return stage(ctx)
    finally:
        ctx.close()
