"""Gemini-stage benchmarks (part of `make bench`), against the emulator on loopback:

- sync throughput under the emulator's RPM limit and a fixed latency: achieved rate / limit-bound rate
  (target >= 0.9) with < 5% of requests answered 429;
- the whole job under a ~20% fault mix: zero items lost and no batch job created twice.

Ratios only; both numbers of a ratio are measured in the same run."""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from PIL import Image
from pydantic import SecretStr

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.catalog import default_run_model
from pipeline.gemini.client import GeminiClient, GeminiConnection
from pipeline.infer import sync
from pipeline.infer.requests import ChunkRequest, generation_config
from pipeline.tasks import DESCRIBE
from pipeline_tools.bench.run import Row

MODEL = default_run_model()

FAULT_MIX = {
    "http_429": 0.04,
    "http_500": 0.03,
    "timeout": 0.01,
    "malformed_json": 0.04,
    "max_tokens": 0.02,
    "safety_block": 0.02,
    "batch_item_error": 0.04,
    "seed": 5,
}


def _image_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 40, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def sync_throughput(
    rpm: int = 60, windows: int = 2, latency_s: float = 0.3, concurrency: int = 8
) -> list[Row]:
    """N = windows x rpm + 1 requests can finish no sooner than `windows` minutes: the limit-bound time."""
    n = windows * rpm + 1
    with GeminiEmulator(EmulatorConfig(rpm_limit=rpm, latency_s=latency_s)) as emulator:
        client = GeminiClient(GeminiConnection(api_key=SecretStr("bench"), base_url=emulator.base_url))
        data = _image_bytes()
        requests = [
            ChunkRequest(f"r{i}", "bench://image", 0, 0.0, 0.0, "image/jpeg", data, 300) for i in range(n)
        ]
        config = generation_config(DESCRIBE, MODEL, media_resolution="MEDIA_RESOLUTION_LOW")
        started = time.monotonic()
        outcomes = sync.run_sync(
            sync.SyncCall(client, MODEL, DESCRIBE, config),
            requests,
            policy=sync.SyncPolicy(concurrency=concurrency, rpm=rpm),
        )
        elapsed = time.monotonic() - started
        stats = emulator.stats()
    bound = windows * 60.0 + latency_s
    received = stats["requests_total"]
    throttled = stats.get("http_429_sent", 0)
    ok = sum(1 for o in outcomes if o.status == "ok")
    efficiency = bound / elapsed
    share_429 = throttled / max(received, 1)
    return [
        Row(
            "sync rate / limit-bound rate",
            round(efficiency, 3),
            0.9,
            at_most=False,
            note=f"{n} requests in {elapsed:.1f}s, bound {bound:.1f}s",
        ),
        Row(
            "sync share of requests answered 429",
            round(share_429, 4),
            0.049,
            unit="",
            note=f"{throttled} of {received}",
        ),
        Row("sync requests not answered", n - ok, 0, unit="", note=f"{ok} of {n} answered"),
    ]


def fault_mix(media_dir: Path | None = None) -> list[Row]:
    """The whole job on sample media under the fault mix: every item gets a row, one batch job per model
    (describe sends a video's sound to its audio model where that is cheaper)."""
    from pipeline.cli.demo import upload_media
    from pipeline.commit import RunSummary
    from pipeline.config import Settings
    from pipeline.run import run_job
    from pipeline.storage import S3Location, S3Store
    from pipeline.tables import read_table
    from pipeline_tools.embedded import embedded_services
    from pipeline_tools.samples import generate_samples

    with tempfile.TemporaryDirectory() as tmp, embedded_services(batch_delay_s=0.5) as services:
        media = media_dir or Path(tmp)
        if media_dir is None:
            generate_samples(media)
        faulty = GeminiEmulator(
            EmulatorConfig(batch_pending_s=0.2, batch_running_s=0.5, faults=FAULT_MIX)
        ).start()
        import os

        os.environ["GOOGLE_GEMINI_BASE_URL"] = faulty.base_url
        try:
            settings = Settings(
                batch_poll_seconds=0.3,
                create_backoff_seconds=0.2,
                max_chunk_seconds=30,
                overlap_seconds=2,
                max_request_attempts=3,
            )
            store = S3Store()
            dt = date(2026, 11, 1)
            uploaded = upload_media(store, settings, dt, media)
            summary = run_job(settings, dt, store=store)
            assert isinstance(summary, RunSummary)  # not a dry run
            media_rows = read_table(store, S3Location.parse(settings.dest), "media").num_rows
            requests = read_table(store, S3Location.parse(settings.dest), "requests").to_pylist()
            models = sorted({r["model"] for r in requests if r["mode"] == "batch"})
            stats = faulty.stats()
        finally:
            os.environ["GOOGLE_GEMINI_BASE_URL"] = services.gemini_base_url
            faulty.stop()
    injected = sum(stats.get("faults_injected", {}).values())
    lost = uploaded - media_rows
    return [
        Row(
            "fault mix: items lost",
            lost,
            0,
            unit="",
            note=f"{injected} faults injected over {summary.requests} requests",
        ),
        Row(
            "fault mix: batch jobs created beyond one per model",
            stats["batch_jobs_created"] - len(models),
            0,
            unit="",
            note=f"a job created twice is paid twice; models: {', '.join(models)}",
        ),
        Row(
            "fault mix: items answered ok",
            summary.items_ok,
            None,
            unit="",
            note=f"{summary.items_quarantined} quarantined, {summary.items_failed} failed input",
        ),
    ]


def run_gemini_bench(log: Callable[[str], None] = print) -> list[Row]:
    log("Gemini stage: sync throughput under the emulator's RPM limit (about 2 minutes) ...")
    rows = sync_throughput()
    log("Gemini stage: the whole job under a fault mix ...")
    return [*rows, *fault_mix()]


if __name__ == "__main__":
    from pipeline_tools.bench.run import format_table

    print(format_table(run_gemini_bench()))
