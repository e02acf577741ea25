"""The benchmark script runs end to end on a tiny source (machinery only: no timing asserts); its
estimate rows run in tests/e2e/test_estimate_accuracy.py."""

from __future__ import annotations

import json

from pipeline.catalog import default_run_model
from pipeline_tools.bench.__main__ import main, parse_args
from pipeline_tools.bench.estimate import NightSize
from pipeline_tools.bench.run import Row, format_table


def test_bench_runs_on_a_tiny_source(tmp_path):
    out = tmp_path / "bench-results.json"
    argv = ["--duration", "4", "--size", "160x90", "--big-mb", "2", "--naive-seconds", "4", "--skip-gemini",
            "--skip-estimate", "--skip-scale", "--skip-plan"]  # fmt: skip
    code = main([*argv, "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])
    doc = json.loads(out.read_text())
    assert code == (1 if doc["failed"] else 0)
    metrics = {r["metric"]: r for r in doc["rows"]}
    assert {"prepare A (exact) / decode floor", "probe + profile + prepare A / decode floor", "decode floor / prepare B (fast)", "tokens/media-h A / naive",
            "USD/media-h B (Batch) / naive (standard)", "peak RSS preparing the big source"} <= set(metrics)  # fmt: skip
    assert not any(m.startswith("estimate") for m in metrics)
    assert all(r["measured"] > 0 for r in doc["rows"])
    assert doc["details"]["plan_b"]["settings"]["keep_audio"] is False
    assert doc["details"]["usage"]["scenario_b"]["audio"] == 0
    usage = doc["details"]["usage"]
    # Gemini 3 bills a video frame 70 tokens at LOW and at the default resolution alike (catalog), so the
    # naive request's video is no dearer per frame; its default thinking (MEDIUM) outspends LOW
    assert usage["naive"]["video"] >= usage["scenario_a"]["video"]
    assert usage["naive"]["thoughts"] > usage["scenario_a"]["thoughts"]
    # 4 s of sound: a second request to flash-lite would cost more than it saves, so describe keeps it
    # in the video request (the 10-minute source of `make bench` splits it)
    assert doc["details"]["plan_a"]["settings"]["audio_model"] is None
    assert "not split" in metrics["tokens/media-h A / naive"]["note"]
    model = default_run_model()
    for scenario in ("scenario_a", "scenario_b", "naive"):
        assert set(doc["details"]["usage"]["by_model"][scenario]) == {model}


def test_estimate_flags():
    args = parse_args(["--skip-estimate", "--estimate-night", "6,2,1"])
    assert args.skip_estimate and args.estimate_night == NightSize(6, 2, 1)
    assert parse_args([]).estimate_night == NightSize(24, 6, 4)


def test_two_sided_rows():
    inside, outside = Row("a", 1.08, 1.0, tolerance=0.1), Row("b", 0.85, 1.0, tolerance=0.1)
    assert inside.passed is True and outside.passed is False
    assert Row("c", 0.3, 0.35).passed is True and Row("d", 0.9, 1.0, at_most=False).passed is False
    table = format_table([inside, outside])
    assert "1±0.1" in table and "PASS" in table and "FAIL" in table
