"""The Gemini stage against emulators configured to be difficult: big batches through the Files API,
a fault mix, forced terminal batch states, and a cached prompt."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.config import Settings
from pipeline.errors import BatchJobFailedError
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 6)
FILES = [
    "v_vp9_opus_320x180.webm",
    "v_h264_aac_2subs.mkv",
    "a_opus_mono.opus",
    "i_webp_lossy.webp",
    "a_flac_stereo.flac",
    "i_png_large_4160x870.png",
]
# The mix, scaled so about one request in five meets a fault of some kind.
FAULT_MIX = {
    "http_429": 0.05,
    "http_500": 0.03,
    "timeout": 0.02,
    "malformed_json": 0.05,
    "max_tokens": 0.03,
    "safety_block": 0.03,
    "batch_item_error": 0.06,
    "seed": 11,
}


@pytest.fixture
def loaded(buckets, services):  # noqa: ANN001, ANN201
    source, dest = buckets
    store = S3Store()
    for name in FILES:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt={DT.isoformat()}/{name}"))
    return source, dest, store


def _settings(source: str, dest: str, **extra: object) -> Settings:
    defaults: dict[str, object] = {
        "batch_poll_seconds": 0.2,
        "create_backoff_seconds": 0.1,
        "max_chunk_seconds": 4,
        "overlap_seconds": 1,
    }
    return Settings(source=source, dest=dest, **{**defaults, **extra})


def _point_at(monkeypatch: pytest.MonkeyPatch, emulator: GeminiEmulator) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)


def test_files_api_transport_uploads_collects_and_cleans_up(loaded, samples, monkeypatch) -> None:  # noqa: ANN001
    source, dest, store = loaded
    # a 150 s video in two 76 s chunks: long enough that describe sends its sound to Flash-Lite, a job of
    # its own
    media_dir, _ = samples
    store.upload(media_dir / "scenes_b.mkv", S3Location.parse(f"{source}/dt={DT.isoformat()}/scenes_b.mkv"))
    with GeminiEmulator(
        EmulatorConfig(batch_pending_s=0.2, batch_running_s=0.3, file_processing_s=0.1)
    ) as emulator:
        _point_at(monkeypatch, emulator)
        settings = _settings(source, dest, transport="files", max_chunk_seconds=120)
        summary = run_job(settings, DT, store=store)
        stats = emulator.stats()
        log = emulator.recorded_requests()
    assert summary.items_ok == len(FILES) + 1 and summary.requests > len(FILES)
    assert stats["batch_jobs_created"] == 2  # one per model
    creates = [r for r in log if r["path"].endswith(":batchGenerateContent")]
    assert sorted(c["path"].rsplit("/", 1)[-1] for c in creates) == [
        "gemini-3.5-flash-lite:batchGenerateContent",
        "gemini-3.8-flash:batchGenerateContent",
    ]
    assert all(c["body"]["batch"]["inputConfig"]["fileName"].startswith("files/") for c in creates)
    # every uploaded chunk and JSONL was deleted after collection; only each job's results file remains
    assert stats["files"]["count"] <= 2
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    assert all(r["status"] == "ok" and r["mode"] == "batch" for r in requests)
    sounds = [r for r in requests if r["request_key"].endswith("-sound")]
    assert "scenes_b.mkv" in {r["source_uri"].rsplit("/", 1)[-1] for r in sounds}
    assert all(r["source_uri"].endswith((".mkv", ".webm")) for r in sounds)  # videos only
    assert {r["model"] for r in sounds} == {"gemini-3.5-flash-lite"}


def test_fault_mix_loses_no_item_and_creates_one_job(loaded, monkeypatch) -> None:  # noqa: ANN001
    source, dest, store = loaded
    with GeminiEmulator(
        EmulatorConfig(batch_pending_s=0.2, batch_running_s=0.3, faults=FAULT_MIX)
    ) as emulator:
        _point_at(monkeypatch, emulator)
        settings = _settings(source, dest, max_request_attempts=3, max_chunk_seconds=2, overlap_seconds=0.5)
        summary = run_job(settings, DT, store=store)
        stats = emulator.stats()
    assert sum(stats["faults_injected"].values()) > 0, (
        "the fault mix injected nothing: the test proves nothing"
    )
    assert stats["batch_jobs_created"] == 1
    loc = S3Location.parse(dest)
    media = read_table(store, loc, "media").to_pylist()
    assert {m["source_uri"].rsplit("/", 1)[-1] for m in media} == set(FILES)  # zero items lost
    quarantine = {q["source_uri"] for q in read_table(store, loc, "quarantine").to_pylist()}
    for row in media:
        assert row["status"] in ("ok", "quarantined")
        if row["status"] == "quarantined":
            assert row["source_uri"] in quarantine and row["error"]
    requests = read_table(store, loc, "requests").to_pylist()
    failed = [r for r in requests if r["status"] != "ok"]
    assert failed, "faults were injected but no failed request was recorded"
    assert all(r["finish_reason"] or r["error"] for r in failed)
    (run,) = read_table(store, loc, "runs").to_pylist()
    assert run["cost_usd"] == sum((r["cost_usd"] for r in requests), Decimal(0))
    assert summary.items_ok + summary.items_quarantined == len(FILES)


@pytest.mark.parametrize("state", ["FAILED", "EXPIRED"])
def test_terminal_batch_state_fails_loudly_and_a_retry_resubmits(loaded, monkeypatch, state) -> None:  # noqa: ANN001
    source, dest, store = loaded
    with GeminiEmulator(
        EmulatorConfig(batch_pending_s=0.1, batch_running_s=0.1, faults={"batch_state": state})
    ) as emulator:
        _point_at(monkeypatch, emulator)
        with pytest.raises(BatchJobFailedError, match=state):
            run_job(_settings(source, dest), DT, store=store)
        assert read_table(store, S3Location.parse(dest), "runs").num_rows == 0  # nothing committed
        # the dead job was sent again twice (MAX_BATCH_RESUBMISSIONS) before the run gave up
        assert emulator.stats()["batch_jobs_created"] == 3
        emulator.set_faults({})
        summary = run_job(_settings(source, dest), DT, store=store)
        assert emulator.stats()["batch_jobs_created"] == 4  # the rerun replaces the dead job, once
    assert summary.items_ok == len(FILES)


def test_batch_failure_can_fall_back_to_sync(loaded, monkeypatch) -> None:  # noqa: ANN001
    source, dest, store = loaded
    with GeminiEmulator(
        EmulatorConfig(batch_pending_s=0.1, batch_running_s=0.1, faults={"batch_state": "CANCELLED"})
    ) as emulator:
        _point_at(monkeypatch, emulator)
        summary = run_job(_settings(source, dest, on_batch_failure="sync"), DT, store=store)
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    assert summary.items_ok == len(FILES) and {r["mode"] for r in requests} == {"sync"}
