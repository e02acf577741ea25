"""Helpers to run real Airflow processes from a test: environment pointing at the embedded services
through Airflow connections, process groups that are always stopped, and a small REST API client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pipeline_tools.embedded import free_port
from tests.conftest import REPO

ARTIFACTS = REPO / "test-artifacts"
DAG_ID = "media_pipeline"
# Variables the test process itself uses for the embedded services: the Airflow processes must reach
# S3 and Gemini through the connections instead, so these are removed from their environment.
_SCRUB_PREFIXES = ("AWS_", "GEMINI_", "GOOGLE_", "MEDIA_PIPELINE_", "AIRFLOW", "PYTEST_")


LOCAL_SETTINGS = """import sys

from pipeline.airflow.preload import preload_for

preload_for(sys.argv)
"""


def airflow_env(
    home: Path, services: Any, *, port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment for Airflow processes; also writes $AIRFLOW_HOME/config/airflow_local_settings.py."""
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
    base = f"http://127.0.0.1:{port}"
    env.update(
        {
            "PATH": f"{REPO / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            # no run of the latest interval on unpause: only the runs a test asks for
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "PYTHONPATH": str(REPO),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            # S3 (moto) and Gemini (emulator) only through Airflow connections: nothing secret in the DAG.
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    "login": "testing",
                    "password": "testing",
                    "extra": {"endpoint_url": services.s3_endpoint, "region_name": "us-east-1"},
                }
            ),
            "AIRFLOW_CONN_GEMINI_DEFAULT": json.dumps(
                {
                    "conn_type": "generic",
                    "password": services.env()["GEMINI_API_KEY"],
                    "extra": {"base_url": services.gemini_base_url},
                }
            ),
            "MEDIA_PIPELINE_BATCH_POLL_SECONDS": "0.5",
            # The task supervisor notices a task process's exit at its next heartbeat tick (5 s by
            # default): every task of a run waited up to that long to be seen done, and the trigger's
            # first look is two ticks (pipeline.airflow.triggers.trigger_settle_seconds).
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Processes:
    """Started processes, each in its own process group, stopped together (always)."""

    logs: Path
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, cmd: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        out = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            cmd, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO
        )
        self.procs.append((name, proc))
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {proc.returncode}; log: {self.logs / f'{name}.log'}\n{self.tail(name)}"
                )

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for _, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # children that outlived their parent are still in its group
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.procs.clear()


class Api:
    """The REST API v2 with a JWT from /auth/token."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.username, self.password = username, password
        self.http = httpx.Client(base_url=base, timeout=30)
        token = self.http.post("/auth/token", json={"username": username, "password": password})
        token.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def send(self, method: str, path: str, body: Any) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def ensure_pools(self, pools: Mapping[str, int]) -> None:
        existing = {p["name"] for p in self.get("/api/v2/pools")["pools"]}
        for name, slots in pools.items():
            body = {
                "name": name,
                "slots": slots,
                "description": "media_pipeline test",
                "include_deferred": False,
            }
            if name in existing:
                self.send("PATCH", f"/api/v2/pools/{name}", body)
            else:
                self.send("POST", "/api/v2/pools", body)

    def runs(self, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]

    def task_instances(self, run_id: str, dag_id: str = DAG_ID) -> list[dict[str, Any]]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=200)["task_instances"]


def wait_until(what: str, check, timeout: float, every: float = 1.0, on_wait=None):  # noqa: ANN001, ANN201
    """Poll `check()` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if on_wait:
            on_wait()
        try:
            result = check()
            if result:
                return result
        except (httpx.HTTPError, AssertionError, KeyError) as exc:
            last_error = exc
        time.sleep(every)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}"
        + (f" (last error: {last_error})" if last_error else "")
    )


def wait_for_api(base: str, procs: Processes, timeout: float = 120) -> None:
    def ready() -> bool:
        health = httpx.get(f"{base}/api/v2/monitor/health", timeout=5).json()
        return all(
            health.get(c, {}).get("status") == "healthy"
            for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )

    wait_until("the Airflow API and its components", ready, timeout, on_wait=procs.check_alive)


def run_states(api: Api, run_ids: list[str]) -> dict[str, str]:
    return {r["dag_run_id"]: r["state"] for r in api.runs() if r["dag_run_id"] in run_ids}


def failed_task_logs(api: Api, run_id: str) -> str:
    """Which tasks of a run did not succeed, for assertion messages."""
    return ", ".join(
        f"{t['task_id']}[{t['map_index']}]={t['state']}"
        for t in api.task_instances(run_id)
        if t["state"] != "success"
    )
