"""Today's Gemini end to end on the embedded services: the default model, a shut-down or unserved model
stopping the run before anything is paid, routing billed at the answering model's rates, thought tokens,
hand-computed token counts for media made here, MAX_TOKENS retries, daily quotas and latency alerts."""

from __future__ import annotations

import io
import subprocess
import wave
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from gemini_emulator import EmulatorConfig, GeminiEmulator
from gemini_emulator.wire import normalise
from pipeline.account import Usage, request_cost
from pipeline.catalog import default_run_model, model_price
from pipeline.config import Settings
from pipeline.errors import ModelNotServedError, QuotaExhaustedError
from pipeline.gemini.client import GeminiConnection
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from pipeline.tasks import DESCRIBE

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 20)


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, format="PNG")
    return buf.getvalue()


def _wav(seconds: float, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x10\x00" * int(seconds * rate))
    return buf.getvalue()


def _video(path: Path, seconds: int) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=320x240:r=25:d={seconds}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture
def emulator():
    """A private emulator per test: routing, unserved models and faults are its configuration."""
    created: list[GeminiEmulator] = []

    def start(**config: object) -> tuple[GeminiEmulator, GeminiConnection]:
        emu = GeminiEmulator(
            EmulatorConfig(
                batch_pending_s=0.1,
                batch_running_s=0.2,
                file_processing_s=0.0,
                request_log_clip=None,
                **config,
            )
        ).start()
        created.append(emu)
        return emu, GeminiConnection(api_key="emulator-key-not-secret", base_url=emu.base_url)

    yield start
    for emu in created:
        emu.stop()


def _put(store: S3Store, source: str, name: str, data: bytes) -> None:
    store.put_bytes(S3Location.parse(f"{source}/dt={DT.isoformat()}/{name}"), data)


def _tables(dest: str) -> dict[str, list[dict]]:
    loc = S3Location.parse(dest)
    return {
        t: read_table(S3Store(), loc, t, DT.isoformat()).to_pylist() for t in ("requests", "runs", "media")
    }


def _settings(source: str, dest: str, **extra: object) -> Settings:
    return Settings(source=source, dest=dest, batch_poll_seconds=0.2, **extra)


def test_the_default_model_is_current_and_answers_with_thoughts(services, buckets, emulator) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    _put(store, source, "red.png", _png(640, 480, (220, 30, 30)))
    emu, conn = emulator()
    summary = run_job(_settings(source, dest), DT, store=store, connection=conn)
    tables = _tables(dest)
    (request,) = tables["requests"]
    assert request["model"] == request["model_version"] == request["billed_model"] == default_run_model()
    assert request["thinking_level"] == "LOW" and request["thought_tokens"] > 0
    # thoughts are billed as output: the row's cost is the documented formula over its own usage
    usage = Usage(
        text=request["prompt_tokens_text"],
        image=request["prompt_tokens_image"],
        output=request["output_tokens"],
        thoughts=request["thought_tokens"],
    )
    _, window = model_price(default_run_model(), request["answered_at"].date())
    by_hand = (
        (
            Decimal(usage.text + usage.image) * Decimal(str(window.input))
            + Decimal(usage.output + usage.thoughts) * Decimal(str(window.output))
        )
        * Decimal("0.5")
        / Decimal(1_000_000)
    )
    assert request["cost_usd"] == by_hand.quantize(Decimal("0.000000001"))
    (run,) = tables["runs"]
    assert run["thought_tokens"] == request["thought_tokens"] == summary.thought_tokens
    assert run["estimated_cost_upper_usd"] >= run["estimated_cost_usd"] > 0
    assert [g["mode"] for g in run["latency"]] == ["batch"] and run["latency"][0]["p99_ms"] >= 0
    assert emu.stats()["requests"].get("models.get", 0) >= 1  # asked the service before paying


def test_a_shut_down_model_stops_the_cli_before_anything_runs(services) -> None:  # noqa: ANN001
    proc = subprocess.run(
        [".venv/bin/media-pipeline", "run", "--date", DT.isoformat(), "--model", "gemini-2.5-flash"],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    out = " ".join("".join(c for c in proc.stdout + proc.stderr if c not in "│╭╮╰╯─").split())
    assert proc.returncode == 2, out
    assert "gemini-2.5-flash was shut down on 2026-12-01" in out and "gemini-3.5-flash-lite" in out


def test_a_model_the_service_no_longer_serves_stops_the_run_before_paying(
    services, buckets, emulator
) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    _put(store, source, "red.png", _png(320, 240, (220, 30, 30)))
    emu, conn = emulator(unserved=["gemini-3.6-flash"])
    with pytest.raises(ModelNotServedError, match=r"does not serve gemini-3\.6-flash.*nothing was paid"):
        run_job(_settings(source, dest, model="gemini-3.6-flash"), DT, store=store, connection=conn)
    stats = emu.stats()
    assert stats["batch_jobs_created"] == 0 and not stats["responses_generated"]
    assert _tables(dest)["runs"] == []


def test_a_routed_request_records_and_pays_the_model_that_answered(services, buckets, emulator) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    for i, colour in enumerate([(220, 30, 30), (30, 200, 40), (20, 40, 210)]):
        _put(store, source, f"img{i}.png", _png(320, 240, colour))
    emu, conn = emulator(routes={"gemini-3.6-flash": "gemini-3.8-flash"})
    summary = run_job(_settings(source, dest, model="gemini-3.6-flash"), DT, store=store, connection=conn)
    tables = _tables(dest)
    assert {r["model"] for r in tables["requests"]} == {"gemini-3.6-flash"}
    assert {r["model_version"] for r in tables["requests"]} == {"gemini-3.8-flash"}
    for r in tables["requests"]:
        usage = Usage(text=r["prompt_tokens_text"], image=r["prompt_tokens_image"], output=r["output_tokens"],
                      thoughts=r["thought_tokens"])  # fmt: skip
        answered = r["answered_at"].date()
        at_38, _ = request_cost("gemini-3.8-flash", usage, tier="batch", on=answered)
        at_36, _ = request_cost("gemini-3.6-flash", usage, tier="batch", on=answered)
        assert r["billed_model"] == "gemini-3.8-flash" and r["cost_usd"] == at_38 < at_36
    (run,) = tables["runs"]
    assert run["routed_requests"] == 3 == summary.routed_requests
    assert run["routed"] == [{"requested": "gemini-3.6-flash", "answered": "gemini-3.8-flash", "requests": 3}]
    assert emu.stats()["routed"] == {"gemini-3.6-flash->gemini-3.8-flash": 3}
    # the next night's estimate expects the routing and prices at the answering model's rates
    nxt = DT.replace(day=DT.day + 1)
    store.put_bytes(S3Location.parse(f"{source}/dt={nxt.isoformat()}/img9.png"), _png(320, 240, (90, 90, 20)))
    second = run_job(_settings(source, dest, model="gemini-3.6-flash"), nxt, store=store, connection=conn)
    assert any("mostly answered by gemini-3.8-flash" in w for w in second.warnings)
    assert abs(float(second.estimated_cost_usd) / float(second.cost_usd) - 1) < 0.5


def test_tokens_of_media_made_here_match_the_hand_computed_counts(
    services, buckets, emulator, tmp_path
) -> None:  # noqa: ANN001
    """A 1024x768 PNG is prepared to 768x576: 280 tokens at LOW on 3.8 Flash. A 12 s video without sound
    at 1 fps: frames at 0..11 s = 12 x 70 = 840. 60 s of WAV sound: 60 x 32 = 1920 (media-resolution and
    audio pages)."""
    source, dest = buckets
    store = S3Store()
    _put(store, source, "photo.png", _png(1024, 768, (200, 120, 40)))
    _put(store, source, "clip.mp4", _video(tmp_path / "clip.mp4", 12).read_bytes())
    _put(store, source, "talk.wav", _wav(60.0))
    _, conn = emulator()
    run_job(_settings(source, dest, audio_model=""), DT, store=store, connection=conn)
    by_name = {r["source_uri"].rsplit("/", 1)[-1]: r for r in _tables(dest)["requests"]}
    assert by_name["photo.png"]["prompt_tokens_image"] == 280
    assert (by_name["clip.mp4"]["prompt_tokens_video"], by_name["clip.mp4"]["prompt_tokens_audio"]) == (
        840,
        0,
    )
    assert by_name["talk.wav"]["prompt_tokens_audio"] == 1920
    # the prompt: "about 4 characters per token" over the task's prompt text
    assert by_name["photo.png"]["prompt_tokens_text"] == -(-len(DESCRIBE.prompt) // 4)


def test_an_answer_cut_at_max_tokens_is_retried_once_with_more_room_and_less_thinking(
    services, buckets, emulator
) -> None:  # noqa: ANN001
    """3.6 Flash at LOW thinks ~400 tokens: a 150-token cap cuts every answer. The retry gets 300 tokens
    and MINIMAL thinking; both attempts are billed rows."""
    source, dest = buckets
    store = S3Store()
    _put(store, source, "red.png", _png(320, 240, (220, 30, 30)))
    emu, conn = emulator()
    settings = _settings(
        source, dest, model="gemini-3.6-flash", max_output_tokens=150, max_request_attempts=1
    )
    run_job(settings, DT, store=store, connection=conn)
    rows = sorted(_tables(dest)["requests"], key=lambda r: r["attempt"])
    assert [r["attempt"] for r in rows] == [1, 2]
    assert rows[0]["finish_reason"] == "MAX_TOKENS" and rows[0]["thinking_level"] == "LOW"
    assert rows[0]["cost_usd"] > 0  # cut short, still billed
    assert rows[1]["thinking_level"] == "MINIMAL" and rows[1]["status"] == "ok"
    sent = [
        normalise(r["body"]["generationConfig"])
        for r in emu.recorded_requests()
        if r["path"].endswith(":generateContent")
    ]
    assert sent[-1]["maxOutputTokens"] == 300 and sent[-1]["thinkingConfig"] == {"thinkingLevel": "MINIMAL"}


def test_a_daily_quota_stops_the_run_without_blind_retries(services, buckets, emulator) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    for i in range(6):
        _put(store, source, f"img{i}.png", _png(320, 240, (40 * i, 90, 200)))
    emu, conn = emulator(faults={"daily_quota": 1.0})
    settings = _settings(source, dest, mode="sync", sync_concurrency=2)
    with pytest.raises(QuotaExhaustedError, match="exhausted until it resets"):
        run_job(settings, DT, store=store, connection=conn)
    # no request was sent twice (a per-minute 429 would have been retried), and the run stopped rather
    # than send every request into the quota
    bodies = [
        repr(r["body"]["contents"]) for r in emu.recorded_requests() if r["path"].endswith(":generateContent")
    ]
    assert len(bodies) == len(set(bodies)) < 6


def test_a_p99_latency_over_its_threshold_warns(services, buckets, emulator) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    _put(store, source, "red.png", _png(320, 240, (220, 30, 30)))
    _, conn = emulator(latency_s=0.05)
    settings = _settings(source, dest, mode="sync", sync_latency_p99_alert_ms=10)
    summary = run_job(settings, DT, store=store, connection=conn)
    assert summary.latency_alerts and "p99 latency of sync requests" in summary.latency_alerts[0]
    (run,) = _tables(dest)["runs"]
    assert run["warnings"] and any("p99 latency" in w for w in run["warnings"])
