"""The Airflow DAG, run with `dag.test()` on SQLite against the embedded services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from tests.conftest import FIXTURE_MEDIA, REPO

pytestmark = pytest.mark.e2e

FILES = ["v_vp9_opus_320x180.webm", "i_jpeg_exif_orientation6.jpg", "a_opus_mono.opus", "x_json_named.webp"]


def without_deadline(dag) -> None:  # noqa: ANN001
    """dag.test() in Airflow 3.3.2 fails at the end of a successful run of a DAG with a DeadlineAlert:
    its in-memory scheduler DAG keeps the alerts as dicts where DagRun.update_state expects the ids the
    DAG processor stores. The deadline is exercised under `airflow standalone` (tests/airflow)."""
    assert dag.deadline, "the DAG should declare a deadline"
    dag.deadline = None


@pytest.fixture(scope="module")
def airflow_db() -> None:
    from airflow.utils import db

    db.resetdb()


def test_dag_imports_cleanly(airflow_db) -> None:  # noqa: ANN001
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    dag = bag.get_dag("media_pipeline")
    assert [t.task_id for t in dag.topological_sort()] == [
        "discover",
        "plan_groups",
        "plan",
        "merge_plan",
        "paying",
        "item_groups",
        "prepare",
        "merge_prepared",
        "infer",
        "validate",
        "commit",
    ]


@pytest.fixture
def webhook(monkeypatch):  # noqa: ANN001, ANN201
    """A local HTTP endpoint as the alert webhook (Airflow Variable media_pipeline_webhook, by env)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AIRFLOW_VAR_MEDIA_PIPELINE_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


def test_dag_run_writes_the_date_partition(airflow_db, buckets, tmp_path, monkeypatch, webhook) -> None:  # noqa: ANN001
    from airflow.dag_processing.dagbag import DagBag

    source, dest = buckets
    store = S3Store()
    for name in FILES:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt=2026-11-02/{name}"))
    # a file of another date must not be picked up
    store.upload(FIXTURE_MEDIA / "i_webp_lossy.webp", S3Location.parse(f"{source}/dt=2026-11-03/other.webp"))
    monkeypatch.setenv("MEDIA_PIPELINE_SOURCE", source)
    monkeypatch.setenv("MEDIA_PIPELINE_DEST", dest)
    monkeypatch.setenv("MEDIA_PIPELINE_BATCH_POLL_SECONDS", "0.3")
    monkeypatch.setenv("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1")  # the trigger's first look: 2 s
    # every batch job takes longer than 1 ms: the p99 alert must reach the webhook
    monkeypatch.setenv("MEDIA_PIPELINE_BATCH_LATENCY_P99_ALERT_MS", "1")

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("media_pipeline")
    without_deadline(dag)
    # dag.test makes a manual run: at 2026-11-03 02:00 it covers the interval that just closed,
    # [11-02 02:00, 11-03 02:00), so its data date is 2026-11-02 (as a scheduled run of 11-02 would).
    dag_run = dag.test(logical_date=datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
    assert str(dag_run.state) == "success"

    dest_loc = S3Location.parse(dest)
    media = read_table(store, dest_loc, "media").to_pylist()
    assert {row["dt"] for row in media} == {"2026-11-02"}
    by_name = {row["source_uri"].rsplit("/", 1)[-1]: row for row in media}
    assert set(by_name) == set(FILES)
    assert by_name["x_json_named.webp"]["status"] == "failed"
    assert "text, not media" in by_name["x_json_named.webp"]["error"]
    assert all(by_name[n]["status"] == "ok" for n in FILES[:3])
    runs = read_table(store, dest_loc, "runs").to_pylist()
    requests = read_table(store, dest_loc, "requests").to_pylist()
    assert len(runs) == 1 and runs[0]["requests"] == len(requests) == 3
    assert runs[0]["cost_usd"] == sum(r["cost_usd"] for r in requests) > 0
    assert len(read_table(store, dest_loc, "annotations")) == 3
    alerts = [body for body in webhook if body["event"] == "latency_p99_exceeded"]
    assert alerts and "p99 latency of batch requests" in alerts[0]["alerts"][0]
    assert runs[0]["warnings"] and runs[0]["latency"]
