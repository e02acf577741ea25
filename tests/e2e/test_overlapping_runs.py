"""Two runs of one date started together (distinct run ids, same destination), as a scheduled and a
manual run would be: in batch mode the emulator creates one batch job for both (the loser of the
intent's `If-None-Match` re-attaches or waits), and the date's commit lists both runs' `runs` rows,
written one on top of the other (the commit's `If-Match`)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e
FILES = ["v_vp9_opus_320x180.webm", "a_opus_mono.opus", "i_webp_lossy.webp"]
DT = "2026-11-04"


def _run(env: dict[str, str], run_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--date", DT, "--run-id", run_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _billed_once(store: S3Store, dest: str) -> None:
    """The date's `requests` rows charge each paid attempt once, whichever run recorded it, and the two
    `runs` rows add up to the same: the tables say what the service billed, not once per run."""
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    paid = [r for r in requests if r["mode"] != "cache"]
    keys = {r["request_key"] for r in paid}
    charged = Counter(r["request_key"] for r in paid if r["cost_usd"] > 0)
    assert set(charged) == keys and set(charged.values()) == {1}, charged
    assert {r["run_id"] for r in paid} == {"overlap-a", "overlap-b"}  # both runs recorded them
    runs = read_table(store, S3Location.parse(dest), "runs").to_pylist()
    assert sum(r["cost_usd"] for r in runs) == sum(r["cost_usd"] for r in requests) > 0


def test_two_batch_runs_of_one_date_create_one_job(services, buckets) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    for name in FILES:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt={DT}/{name}"))
    # A create that takes seconds (as a real one with a large payload does) leaves the window in which
    # the second run finds the first one's intent without a job: before conditional intents it created
    # a second job there.
    with GeminiEmulator(
        EmulatorConfig(batch_pending_s=1.0, batch_running_s=1.0, batch_create_latency_s=4.0)
    ) as gemini:
        env = {
            **os.environ,
            **services.env(),
            "GOOGLE_GEMINI_BASE_URL": gemini.base_url,
            "MEDIA_PIPELINE_SOURCE": source,
            "MEDIA_PIPELINE_DEST": dest,
            "MEDIA_PIPELINE_BATCH_POLL_SECONDS": "0.3",
            "MEDIA_PIPELINE_MODE": "batch",
        }
        runs = [_run(env, "overlap-a"), _run(env, "overlap-b")]
        outs = [r.communicate(timeout=180)[0] for r in runs]
        for run, out in zip(runs, outs, strict=True):
            assert run.returncode == 0, out
        stats = gemini.stats()
    assert stats["batch_jobs_created"] == 1, stats["batch_job_names"]
    assert stats["batch_requests"] == len(FILES)  # each request sent (and billed) once
    assert sum("re-attaching to batch job" in out or "waiting for it" in out for out in outs) >= 1
    table = read_table(store, S3Location.parse(dest), "runs").to_pylist()
    assert sorted(r["run_id"] for r in table) == ["overlap-a", "overlap-b"]
    assert all(r["items_ok"] == len(FILES) for r in table)
    _billed_once(store, dest)


def test_two_sync_runs_of_one_date_send_each_request_once(services, buckets) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    names = ["v_h264_aac_2subs.mkv", "a_flac_stereo.flac", "i_webp_lossy.webp"]
    for name in names:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt={DT}/{name}"))
    with GeminiEmulator(EmulatorConfig(latency_s=0.5)) as gemini:
        env = {
            **os.environ,
            **services.env(),
            "GOOGLE_GEMINI_BASE_URL": gemini.base_url,
            "MEDIA_PIPELINE_SOURCE": source,
            "MEDIA_PIPELINE_DEST": dest,
            "MEDIA_PIPELINE_MODE": "sync",
            "MEDIA_PIPELINE_SYNC_CONCURRENCY": "1",
            "MEDIA_PIPELINE_MAX_CHUNK_SECONDS": "2",
            "MEDIA_PIPELINE_OVERLAP_SECONDS": "0.5",
        }
        runs = [_run(env, "overlap-a"), _run(env, "overlap-b")]
        outs = [r.communicate(timeout=180)[0] for r in runs]
        for run, out in zip(runs, outs, strict=True):
            assert run.returncode == 0, out
        sent = gemini.stats()["requests"].get("generateContent", 0)
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    distinct = {(r["request_key"], r["attempt"]) for r in requests if r["mode"] == "sync"}
    assert len(distinct) >= 4, "the chunking did not give the runs several requests to share"
    assert sent == len(distinct)  # each request sent (and billed by the service) once, not once per run
    runs_table = read_table(store, S3Location.parse(dest), "runs").to_pylist()
    assert sorted(r["run_id"] for r in runs_table) == ["overlap-a", "overlap-b"]
    _billed_once(store, dest)
