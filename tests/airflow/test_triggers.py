"""GeminiBatchTrigger: serializes to ids only, and polls real batch jobs on the emulator."""

from __future__ import annotations

import asyncio
import json

import pytest

from pipeline.airflow.triggers import GeminiBatchTrigger, trigger_settle_seconds

FAST = {"first_s": 0, "every_s": 0.2, "max_s": 0.2}


def test_serialization() -> None:
    trigger = GeminiBatchTrigger(
        job_names=["batches/a", "batches/b"],
        gemini_conn_id="gemini_x",
        polling={"first_s": 3, "every_s": 5, "max_s": 60},
        timeout_seconds=120,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "pipeline.airflow.triggers.GeminiBatchTrigger"
    assert kwargs == {
        "job_names": ["batches/a", "batches/b"],
        "gemini_conn_id": "gemini_x",
        "polling": {"first_s": 3, "every_s": 5, "max_s": 60},
        "timeout_seconds": 120,
        "until": "all",
    }
    json.dumps(kwargs)  # stored in the metadata DB: plain JSON, no client, no secret
    rebuilt = GeminiBatchTrigger(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_the_first_look_waits_two_supervisor_ticks(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", raising=False)
    assert trigger_settle_seconds() == 10.0  # Airflow's default tick is 5 s
    monkeypatch.setenv("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1")
    assert trigger_settle_seconds() == 2.0


def first_event(trigger: GeminiBatchTrigger) -> dict:
    async def run() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    return asyncio.run(asyncio.wait_for(run(), timeout=60))


def submit(services, count: int = 1) -> list[str]:  # noqa: ANN001 - the embedded services or an emulator
    from google import genai
    from google.genai import types

    base_url = getattr(services, "gemini_base_url", None) or services.base_url
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=base_url))
    names = []
    for n in range(count):
        job = client.batches.create(
            model="gemini-3.8-flash",
            src=[types.InlinedRequest(contents="Say hi", metadata={"key": f"k{n}"})],
            config=types.CreateBatchJobConfig(display_name=f"trigger-test-{n}"),
        )
        names.append(job.name)
    return names


@pytest.fixture
def gemini_conn(services, monkeypatch):  # noqa: ANN001, ANN201
    conn = {
        "conn_type": "generic",
        "password": "emulator-key",
        "extra": {"base_url": services.gemini_base_url},
    }
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TEST", json.dumps(conn))
    return "gemini_test"


def test_run_waits_until_every_job_succeeded(services, gemini_conn) -> None:  # noqa: ANN001
    names = submit(services, 2)
    event = first_event(GeminiBatchTrigger(job_names=names, gemini_conn_id=gemini_conn, polling=FAST))
    assert event["status"] == "success", event
    assert event["states"] == dict.fromkeys(names, "JOB_STATE_SUCCEEDED")


def test_until_any_fires_when_one_job_has_ended(services, gemini_conn) -> None:  # noqa: ANN001
    (done,) = submit(services)
    assert first_event(GeminiBatchTrigger(job_names=[done], gemini_conn_id=gemini_conn, polling=FAST))
    (running,) = submit(services)  # still pending when the trigger first looks
    event = first_event(
        GeminiBatchTrigger(job_names=[done, running], gemini_conn_id=gemini_conn, polling=FAST, until="any")
    )
    assert event["status"] == "success" and event["states"][done] == "JOB_STATE_SUCCEEDED"


def test_unknown_job_is_an_error_event_not_a_crash(services, gemini_conn) -> None:  # noqa: ANN001
    event = first_event(
        GeminiBatchTrigger(
            job_names=["batches/does-not-exist"],
            gemini_conn_id=gemini_conn,
            polling=FAST,
        )
    )
    assert event["status"] == "error"
    assert "batches/does-not-exist" in event["message"]


def test_a_job_still_running_at_the_timeout_is_a_timeout_event(monkeypatch) -> None:  # noqa: ANN001
    # A private emulator whose jobs stay pending for a minute: the trigger must give up at its timeout,
    # say so, and leave the job to a retry (which re-attaches).
    from gemini_emulator import EmulatorConfig, GeminiEmulator

    with GeminiEmulator(EmulatorConfig(batch_pending_s=60.0, batch_running_s=60.0)) as slow:
        conn = {"conn_type": "generic", "password": "emulator-key", "extra": {"base_url": slow.base_url}}
        monkeypatch.setenv("AIRFLOW_CONN_GEMINI_SLOW", json.dumps(conn))
        names = submit(slow, 1)
        event = first_event(
            GeminiBatchTrigger(
                job_names=names,
                gemini_conn_id="gemini_slow",
                polling={"first_s": 0, "every_s": 0.05, "max_s": 0.05},
                timeout_seconds=0.3,
            )
        )
    assert event["status"] == "timeout", event
    assert event["states"] == dict.fromkeys(names, "JOB_STATE_PENDING")
    assert "re-attaches" in event["message"]
