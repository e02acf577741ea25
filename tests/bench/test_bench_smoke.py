"""The benchmark script runs end to end on a tiny source (machinery only: no timing asserts)."""

from __future__ import annotations

import json

from pipeline.bench.__main__ import main


def test_bench_runs_on_a_tiny_source(tmp_path):
    out = tmp_path / "bench-results.json"
    argv = ["--duration", "4", "--size", "160x90", "--big-mb", "2", "--naive-seconds", "4", "--skip-gemini"]
    code = main([*argv, "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])
    doc = json.loads(out.read_text())
    assert code == (1 if doc["failed"] else 0)
    metrics = {r["metric"]: r for r in doc["rows"]}
    assert {"prepare A (exact) / decode floor", "decode floor / prepare B (fast)", "tokens/media-h A / naive",
            "USD/media-h B (Batch) / naive (standard)", "peak RSS preparing the big source"} <= set(metrics)  # fmt: skip
    assert all(r["measured"] > 0 for r in doc["rows"])
    assert doc["details"]["plan_b"]["settings"]["keep_audio"] is False
    assert doc["details"]["usage"]["scenario_b"]["audio"] == 0
    assert doc["details"]["usage"]["naive"]["video"] > doc["details"]["usage"]["scenario_a"]["video"]
    # 4 s of sound: a second request to flash-lite would cost more than it saves, so describe keeps it
    # in the video request (the 10-minute source of `make bench` splits it)
    assert doc["details"]["plan_a"]["settings"]["audio_model"] is None
    assert set(doc["details"]["usage"]["by_model"]["scenario_a"]) == {"gemini-2.5-flash"}
