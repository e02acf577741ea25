"""Scale-out: the DAG under the CeleryExecutor (Redis broker, Postgres metadata DB) with two workers.
The mapped `prepare` groups must run on both workers, and the tables must equal those of a dag.test()
run of the same date. Postgres and Redis come from scripts/ci-services.sh (idempotent; CI runs it
first); the test skips only when they cannot be started."""

from __future__ import annotations

import secrets
import socket
import subprocess
from collections.abc import Iterator

import pytest

from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from pipeline_tools.embedded import free_port
from tests.airflow.stack import (
    ARTIFACTS,
    DAG_ID,
    Api,
    Processes,
    airflow_env,
    failed_task_logs,
    wait_for_api,
    wait_until,
)
from tests.conftest import FIXTURE_MEDIA, REPO

pytestmark = pytest.mark.e2e

PG_URL = "postgresql+psycopg2://airflow:airflow@localhost:5432/airflow"
BROKER = "redis://localhost:6379/0"
DAY = "2026-11-02"
FILES = [
    "v_vp9_opus_320x180.webm",
    "i_jpeg_exif_orientation6.jpg",
    "a_opus_mono.opus",
    "i_webp_lossy.webp",
    "x_json_named.webp",
]
SOURCE = "s3://celery-inbox/incoming"
CELERY_DEST, REFERENCE_DEST = "s3://celery-results/celery", "s3://celery-results/reference"


def reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def check_celery_provider() -> None:
    """The celery provider 3.26 imports `retry` from celery's database backend, which celery 5.7 removed:
    every scheduler and worker then dies at start. Say so plainly instead of timing out."""
    try:
        from celery.backends.database import retry  # noqa: F401
    except ImportError:
        import celery

        pytest.fail(
            f"celery {celery.__version__} is incompatible with apache-airflow-providers-celery (it imports "
            "`retry` from celery.backends.database): pin `celery>=5.5.3,<5.7` in pyproject.toml and re-lock"
        )


@pytest.fixture(scope="module")
def celery_services() -> None:
    check_celery_provider()
    if not (reachable(5432) and reachable(6379)):
        result = subprocess.run(
            [str(REPO / "scripts" / "ci-services.sh")], capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0 or not (reachable(5432) and reachable(6379)):
            pytest.skip(f"postgres/redis cannot be started by scripts/ci-services.sh: {result.stderr[-500:]}")


@pytest.fixture(scope="module")
def celery_stack(services, celery_services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:  # noqa: ANN001
    home = tmp_path_factory.mktemp("airflow-celery")
    port = free_port()
    password = "celery-test-admin"
    (home / "passwords.json").write_text(f'{{"admin": "{password}"}}')
    env = airflow_env(
        home,
        services,
        port=port,
        extra={
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": PG_URL,
            "AIRFLOW__CELERY__BROKER_URL": BROKER,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{PG_URL}",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "MEDIA_PIPELINE_SOURCE": SOURCE,
        },
    )
    procs = Processes(ARTIFACTS / "logs" / "celery")
    try:
        reset = subprocess.run(
            ["airflow", "db", "reset", "--yes"], env=env, capture_output=True, text=True, timeout=300
        )
        assert reset.returncode == 0, reset.stdout[-2000:] + reset.stderr[-2000:]
        procs.start("api-server", ["airflow", "api-server", "--port", str(port)], env)
        for component in ("scheduler", "dag-processor", "triggerer"):
            procs.start(component, ["airflow", component], env)
        for worker in ("w1", "w2"):
            worker_env = {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
            procs.start(
                worker,
                ["airflow", "celery", "worker", "--celery-hostname", f"{worker}@%h", "--concurrency", "2"],
                worker_env,
            )
        base = f"http://127.0.0.1:{port}"
        wait_for_api(base, procs, timeout=180)
        for worker in ("w1", "w2"):
            wait_until(
                f"celery worker {worker}",
                lambda w=worker: f"{w}@" in procs.tail(w, 200) and "ready." in procs.tail(w, 200),
                90,
                on_wait=procs.check_alive,
            )
        api = Api(base, "admin", password)
        api.ensure_pools({"ffmpeg": 4, "gemini_api": 2})
        wait_until(f"DAG {DAG_ID} parsed", lambda: api.get(f"/api/v2/dags/{DAG_ID}"), 120, every=2)
        api.send("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        yield api
    finally:
        procs.stop()


def table_view(dest: str) -> dict[str, list[tuple]]:
    """The tables' content without per-run ids and timings, sorted: comparable across runs."""
    store, loc = S3Store(), S3Location.parse(dest)
    name = lambda uri: uri.rsplit("/", 1)[-1]  # noqa: E731
    media = read_table(store, loc, "media", DAY).to_pylist()
    annotations = read_table(store, loc, "annotations", DAY).to_pylist()
    segments = read_table(store, loc, "segments", DAY).to_pylist()
    return {
        "media": sorted(
            (name(r["source_uri"]), r["status"], r["sha256"], r["chunks"], str(r["cost_usd"]), r["error"])
            for r in media
        ),
        "annotations": sorted(
            (name(r["source_uri"]), r["summary"], tuple(r["tags"]), r["language"]) for r in annotations
        ),
        "segments": sorted((name(r["source_uri"]), r["start_s"], r["end_s"], r["label"]) for r in segments),
    }


def test_mapped_tasks_run_on_both_workers_and_match_a_local_run(celery_stack: Api, monkeypatch) -> None:  # noqa: ANN001
    api = celery_stack
    store = S3Store()
    for bucket in ("celery-inbox", "celery-results"):
        store.ensure_bucket(bucket)
    for name in FILES:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{SOURCE}/dt={DAY}/{name}"))

    run = api.send(
        "POST",
        f"/api/v2/dags/{DAG_ID}/dagRuns",
        {"logical_date": None, "conf": {"date": DAY, "dest": CELERY_DEST}},
    )
    run_id = run["dag_run_id"]
    state = wait_until(
        "the Celery run",
        lambda: (
            (s := api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]) in ("success", "failed") and s
        ),
        240,
        every=2,
    )
    assert state == "success", failed_task_logs(api, run_id)

    prepares = [t for t in api.task_instances(run_id) if t["task_id"] == "prepare"]
    assert len(prepares) == 4  # one group per active item here (the JSON posing as webp fails at discover)
    workers = set()
    for ti in prepares:
        entry = api.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/prepare/xcomEntries/return_value",
            map_index=ti["map_index"],
        )
        workers.add(entry["value"]["worker"].split("@")[0])
    assert workers == {"w1", "w2"}, workers

    # the same date through dag.test() (every task in this process), written elsewhere
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    from tests.e2e.test_dag import without_deadline

    db.resetdb()
    monkeypatch.setenv("MEDIA_PIPELINE_BATCH_POLL_SECONDS", "0.3")
    monkeypatch.setenv("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1")  # the trigger's first look: 2 s
    dag = DagBag(dag_folder=str(REPO / "dags")).dags[DAG_ID]
    without_deadline(dag)
    local = dag.test(run_conf={"date": DAY, "source": SOURCE, "dest": REFERENCE_DEST})
    assert str(local.state) == "success"
    assert table_view(CELERY_DEST) == table_view(REFERENCE_DEST)
