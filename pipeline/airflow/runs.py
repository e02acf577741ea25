"""Turn an Airflow task context into the pipeline's RunContext, and pipeline errors into Airflow's."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from pipeline.airflow.connections import AWS_CONN_ID, GEMINI_CONN_ID, gemini_connection, s3_store
from pipeline.airflow.params import setting_overrides
from pipeline.config import Settings
from pipeline.errors import ConfigError, TerminalError, TransientError

if TYPE_CHECKING:  # the run pulls in pyarrow and google-genai: import it when a task runs
    from pipeline.gemini.client import GeminiClient
    from pipeline.run import RunContext

T = TypeVar("T")


def run_date(context: Mapping[str, Any]) -> date:
    """The data date: the start of the data interval. A manual run without a logical date uses the
    `date` param, or the day before it was requested."""
    params = context.get("params") or {}
    if params.get("date"):
        return date.fromisoformat(str(params["date"]))
    start: datetime | None = context.get("data_interval_start")
    if start is not None:
        return start.date()
    run_after: datetime = context["dag_run"].run_after
    return (run_after - timedelta(days=1)).date()


def settings_from(context: Mapping[str, Any]) -> Settings:
    """The run's Settings: MEDIA_PIPELINE_* with the params the run changed (pipeline.airflow.params).
    Settings that do not validate are a ConfigError (terminal: a retry would read the same values)."""
    params = context.get("params") or {}
    try:
        return Settings(**setting_overrides(params))
    except ValidationError as exc:
        problems = "; ".join(
            ": ".join(filter(None, (".".join(map(str, e["loc"])), e["msg"]))) for e in exc.errors()
        )
        raise ConfigError(
            f"the run's settings do not validate ({problems}): fix the DAG param or the MEDIA_PIPELINE_* "
            "variable of that name"
        ) from None


def run_context(context: Mapping[str, Any], aws_conn_id: str = AWS_CONN_ID) -> RunContext:
    """The pipeline's RunContext for this DAG run, its S3 client from the Airflow AWS connection, its
    scratch the run's directory on this host (shared by the run's tasks here: `host_scratch`)."""
    from pipeline.run import RunContext, run_id_from
    from pipeline.run.context import host_scratch

    dag_run = context["dag_run"]
    settings = settings_from(context)
    run_id = run_id_from(f"{dag_run.dag_id}-{dag_run.run_id}")
    return RunContext(
        settings,
        run_date(context),
        run_id,
        store=s3_store(aws_conn_id),
        scratch=host_scratch(settings, run_id),
    )


@contextmanager
def airflow_errors() -> Iterator[None]:
    """Transient pipeline errors propagate (Airflow retries the task); everything else fails it without
    retries: a terminal error by its class, and an error no boundary classified (a bug, an SDK change)
    by default, so it is seen at once instead of being retried as if it were transient."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except TransientError:
        raise
    except TerminalError as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise AirflowFailException(f"unclassified {type(exc).__name__} (a bug, not retried): {exc}") from exc


def run_stage(stage: Callable[[RunContext], T], context: Mapping[str, Any], *, last: bool = False) -> T:
    """Run one stage; only transient pipeline errors are retried (settings that do not validate are
    not: they are the run's params). After the `last` stage of a run, the run's scratch on this host
    is removed (on other hosts the sweep of `host_scratch` does it)."""
    with airflow_errors():
        ctx = run_context(context)
        try:
            result = stage(ctx)
        finally:
            ctx.close()
        if last:
            ctx.remove_scratch()
        return result


def gemini_client(conn_id: str = GEMINI_CONN_ID) -> GeminiClient:
    """The run's Gemini client from the Airflow connection (resolved here, at the edge)."""
    from pipeline.gemini.client import GeminiClient

    return GeminiClient(gemini_connection(conn_id))
