"""The run itself: its context (settings, date, storage, layout), its typed state, and `run_job`, the
sequence of stages the CLI runs in one process (the Airflow DAG runs the same stages, one task each)."""

from pipeline.run.context import LogProgress, Progress, RunContext, new_run_id, run_id_from
from pipeline.run.job import run_job
from pipeline.run.state import RunManifest

__all__ = ["LogProgress", "Progress", "RunContext", "RunManifest", "new_run_id", "run_id_from", "run_job"]
