"""A night bigger than the enqueued-token cap goes in waves: never more in flight than the caps allow,
every request answered once, an expired job's unanswered keys (only) sent again, and a run killed
mid-wave and started again creates no job twice."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from PIL import Image

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.config import Settings
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 7)
IMAGES = 6
# A 320x240 PNG request is billed 294 prompt tokens (280 for the image at the default resolution, 14 for
# the 55-character task prompt at ~4 characters a token, rounded up) and planned at as many: a cap of 800
# holds two (588), not three (882). So the six images make 3 jobs of 2, and the cap lets one job be
# enqueued at a time: 3 waves.
CAP = 800


def _load(store: S3Store, source: str) -> None:
    for i in range(IMAGES):
        buf = io.BytesIO()
        Image.new("RGB", (320, 240), (40 * i, 255 - 30 * i, 90)).save(buf, format="PNG")
        store.put_bytes(S3Location.parse(f"{source}/dt={DT.isoformat()}/img{i}.png"), buf.getvalue())


def test_waves_stay_under_the_caps_and_an_expired_job_sends_its_missing_keys_only(
    services, buckets, monkeypatch
) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    _load(store, source)
    config = EmulatorConfig(
        batch_pending_s=0.1,
        batch_running_s=0.2,
        batch_enqueued_tokens=CAP or None,
        faults={"batch_expire": 1, "batch_expire_answered": 0.5},
    )
    with GeminiEmulator(config) as emulator:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        settings = Settings(
            source=source,
            dest=dest,
            mode="batch",
            batch_poll_seconds=0.2,
            create_backoff_seconds=0.1,
            batch_max_jobs_in_flight=2,
            batch_enqueued_token_cap=str(CAP) if CAP else "none",
        )
        summary = run_job(settings, DT, store=store)
        stats = emulator.stats()
    caps = stats["batch_caps"]
    # 3 planned jobs + 1: the first expired after answering 1 of its 2 requests, the other went again
    assert stats["batch_jobs_created"] == 4
    assert caps["peak_jobs_in_flight"] <= 2
    assert 0 < caps["peak_enqueued_tokens"]["gemini-3.8-flash"] <= CAP
    sent = sorted(caps["submitted_keys"].values())
    assert len(sent) == IMAGES and sent == [1, 1, 1, 1, 1, 2]  # only the expired job's missing key again
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    assert len(requests) == IMAGES and all(r["status"] == "ok" for r in requests)  # each answered once
    assert summary.items_ok == IMAGES


def _run(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", "--date", DT.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_a_run_killed_mid_wave_and_started_again_creates_no_job_twice(services, buckets) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    _load(store, source)
    config = EmulatorConfig(batch_pending_s=0.2, batch_running_s=1.0, batch_enqueued_tokens=CAP)
    with GeminiEmulator(config) as emulator:
        env = {
            **os.environ,
            **services.env(),
            "GOOGLE_GEMINI_BASE_URL": emulator.base_url,
            "MEDIA_PIPELINE_SOURCE": source,
            "MEDIA_PIPELINE_DEST": dest,
            "MEDIA_PIPELINE_BATCH_POLL_SECONDS": "0.2",
            "MEDIA_PIPELINE_MODE": "batch",
            "MEDIA_PIPELINE_BATCH_ENQUEUED_TOKEN_CAP": str(CAP),
        }
        first = _run(env)
        deadline = time.monotonic() + 90
        while emulator.stats()["batch_jobs_created"] < 2:  # killed in the second wave
            assert time.monotonic() < deadline, "the first run never reached its second wave"
            assert first.poll() is None, first.stdout.read() if first.stdout else ""
            time.sleep(0.1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
        second = _run(env)
        out, _ = second.communicate(timeout=120)
        assert second.returncode == 0, out
        stats = emulator.stats()
    assert stats["batch_jobs_created"] == 3, out  # the 3 planned jobs, none twice
    assert sorted(stats["batch_caps"]["submitted_keys"].values()) == [1] * IMAGES
    runs = read_table(store, S3Location.parse(dest), "runs").to_pylist()
    assert len(runs) == 1 and runs[0]["items_ok"] == IMAGES
