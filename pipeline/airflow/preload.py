"""Import the pipeline's heavy dependencies (google-genai, pyarrow, pandas, Great Expectations, the
amazon provider) once, in the process that forks task processes: the scheduler's LocalExecutor workers
and Celery's prefork pool inherit them, so a task starts in ~1 s instead of re-importing them each time
(~10 s of CPU per task otherwise, most of a small task's run time).

Enable it with an `airflow_local_settings.py` on Airflow's path (e.g. `$AIRFLOW_HOME/config/`):

    import sys
    from pipeline.airflow.preload import preload_for
    preload_for(sys.argv)

Other components (api-server, dag-processor, triggerer) skip it and start as fast as before.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

HEAVY_MODULES = (
    "airflow.providers.amazon.aws.hooks.s3",
    "pipeline.run",
    "pipeline.airflow.groups",
    "pipeline.validate.suites",
)


def forks_tasks(argv: list[str]) -> bool:
    """Whether this Airflow command runs tasks in forked children (scheduler with LocalExecutor,
    `airflow standalone`'s scheduler, a Celery worker)."""
    args = [a for a in argv[1:] if not a.startswith("-")]
    return args[:1] == ["scheduler"] or args[:2] == ["celery", "worker"]


def preload_for(argv: list[str]) -> None:
    if not forks_tasks(argv):
        return
    for name in HEAVY_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - an optimisation must never stop Airflow from starting
            log.warning("preload of %s failed: %s", name, exc)
