"""A run killed while it waits for its batch job, then started again, re-attaches to the job it
already paid for: the emulator sees exactly one batch job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e
FILES = ["v_vp9_opus_320x180.webm", "a_opus_mono.opus", "i_webp_lossy.webp"]


def _run(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--date", "2026-11-04"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_killed_run_reattaches_to_its_batch_job(services, buckets) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    for name in FILES:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt=2026-11-04/{name}"))
    with GeminiEmulator(EmulatorConfig(batch_pending_s=4.0, batch_running_s=4.0)) as slow:
        env = {
            **os.environ,
            **services.env(),
            "GOOGLE_GEMINI_BASE_URL": slow.base_url,
            "MEDIA_PIPELINE_SOURCE": source,
            "MEDIA_PIPELINE_DEST": dest,
            "MEDIA_PIPELINE_BATCH_POLL_SECONDS": "0.3",
            "MEDIA_PIPELINE_MODE": "batch",
        }
        first = _run(env)
        ledger = S3Location.parse(dest).join("_ledger", "batches")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            docs = [store.get_json(S3Location(ledger.bucket, o["Key"])) for o in store.list(ledger)]
            if any(d.get("job_name") for d in docs):
                break
            assert first.poll() is None, first.stdout.read() if first.stdout else ""
            time.sleep(0.2)
        else:
            pytest.fail("the first run never recorded its batch job")
        os.killpg(first.pid, signal.SIGKILL)  # as a worker dying mid-wait would
        first.wait(10)
        assert slow.stats()["batch_jobs_created"] == 1

        second = _run(env)
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0, out
        assert "re-attaching to batch job" in out
        assert slow.stats()["batch_jobs_created"] == 1
    runs = read_table(store, S3Location.parse(dest), "runs").to_pylist()
    assert len(runs) == 1 and runs[0]["items_ok"] == 3 and runs[0]["requests"] == 3


def test_killed_sync_run_does_not_pay_again_for_answers_it_received(services, buckets) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    names = ["v_h264_aac_2subs.mkv", "a_flac_stereo.flac", "i_webp_lossy.webp"]
    for name in names:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt=2026-11-04/{name}"))
    with GeminiEmulator(EmulatorConfig(latency_s=0.6)) as slow:
        env = {
            **os.environ,
            **services.env(),
            "GOOGLE_GEMINI_BASE_URL": slow.base_url,
            "MEDIA_PIPELINE_SOURCE": source,
            "MEDIA_PIPELINE_DEST": dest,
            "MEDIA_PIPELINE_MODE": "sync",
            "MEDIA_PIPELINE_SYNC_CONCURRENCY": "1",
            "MEDIA_PIPELINE_MAX_CHUNK_SECONDS": "2",
            "MEDIA_PIPELINE_OVERLAP_SECONDS": "0.5",
            # the request the killed run had in flight: its claim goes stale (unrefreshed) after 3 s,
            # not the default 30 s the second run would wait for it
            "MEDIA_PIPELINE_SYNC_CLAIM_STALE_SECONDS": "3",
        }
        first = _run(env)
        answered = S3Location.parse(dest).join("_ledger", "requests")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum(1 for _ in store.list(answered)) < 3:
            assert first.poll() is None, first.stdout.read() if first.stdout else ""
            time.sleep(0.1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        paid_before_kill = slow.stats()["requests"].get("generateContent", 0)
        assert paid_before_kill >= 3

        second = _run(env)
        out, _ = second.communicate(timeout=180)
        assert second.returncode == 0, out
        requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
        sent = slow.stats()["requests"].get("generateContent", 0)
    answers = [r for r in requests if r["mode"] == "sync"]
    # one request may have been in flight when the worker died (paid, never recorded): at most that is repeated
    assert paid_before_kill < len(answers), "the first run finished before it was killed: nothing was proven"
    assert len(answers) <= sent <= len(answers) + 1
