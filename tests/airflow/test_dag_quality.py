"""The DAG file: imports cleanly, parses fast, does no I/O at import, follows ruff's Airflow rules."""

from __future__ import annotations

import subprocess
import time

from tests.conftest import REPO


def test_dagbag_has_no_import_errors_and_parses_under_a_second() -> None:
    from airflow.dag_processing.dagbag import DagBag

    DagBag(dag_folder=str(REPO / "dags"))  # warm: the first parse also imports airflow's own modules
    started = time.perf_counter()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    elapsed = time.perf_counter() - started
    assert bag.import_errors == {}
    assert elapsed < 1.0, f"parsing dags/ took {elapsed:.2f}s"
    dag = bag.dags["media_pipeline"]
    assert dag.max_active_runs == 4 and dag.deadline
    prepare, infer = dag.get_task("prepare"), dag.get_task("infer")
    assert (prepare.pool, infer.pool) == ("ffmpeg", "gemini_api")
    assert all(t.execution_timeout is not None for t in dag.tasks if t.task_id != "paying")
    assert dag.get_task("commit").outlets[0].name == "media_pipeline_tables"


def test_parsing_does_no_io(monkeypatch) -> None:  # noqa: ANN001
    """No S3, Gemini, socket, Variable or Connection access while the DAG file is imported."""
    import socket

    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("network access while parsing the DAG")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr("airflow.sdk.Variable.get", refuse)
    monkeypatch.setattr("airflow.sdk.Connection.get", refuse)
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}


def test_params_validate_their_schemas() -> None:
    import pytest
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import ParamValidationError

    params = DagBag(dag_folder=str(REPO / "dags")).dags["media_pipeline"].params
    good = {
        "source": "s3://bucket/in",
        "budget_usd": 2.5,
        "max_items": 3,
        "mode": "sync",
        "video_fps": 0.5,
        "date": "2026-11-02",
    }
    for key, value in good.items():
        assert params.get_param(key).resolve(value) == value
    bad = {
        "source": "/local/path",
        "budget_usd": -1,
        "max_items": 0,
        "mode": "fast",
        "max_height": 10,
        "date": "yesterday",
    }
    for key, value in bad.items():
        with pytest.raises(ParamValidationError):
            params.get_param(key).resolve(value)


def test_ruff_airflow_rules_are_clean() -> None:
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "ruff"), "check", "--select", "AIR", "dags", "pipeline/airflow"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
