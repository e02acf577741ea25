"""The console commands as a user runs them: separate processes, their own embedded services."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_env()},
    )


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "GEMINI_"))}
    env["COLUMNS"] = "200"
    return env


def _long_video(path: Path, seconds: int) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=160x90:r=2:d={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


def test_plan_json_and_prepare(tmp_path: Path) -> None:
    # minutes of sound: describe asks Flash-Lite for it, its tokens estimated apart
    long = _long_video(tmp_path / "talk.mp4", 150)
    doc = json.loads(_cli("plan", str(long), "--json").stdout)
    assert doc["plan"]["settings"]["audio_model"] == "gemini-3.5-flash-lite"
    assert doc["plan"]["estimate"]["audio"] == 0 and doc["plan"]["sound_estimate"]["audio"] == 150 * 32
    assert doc["plan"]["total_estimate"]["audio"] == doc["plan"]["sound_estimate"]["audio"]
    assert doc["plan"]["estimated_cost_upper_usd"] >= doc["plan"]["estimated_cost_usd"] > 0

    # 10 s of sound: a second request would cost more than it saves, so it stays in the video request
    src = FIXTURE_MEDIA / "v_h264_aac_2subs.mkv"
    result = _cli("plan", str(src), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    chunks = doc["plan"]["chunks"]
    assert chunks[0]["start_s"] == 0 and chunks[-1]["end_s"] == pytest.approx(
        doc["probe"]["duration_s"], abs=0.05
    )
    assert doc["plan"]["estimate"]["video"] > 0 and doc["plan"]["estimated_cost_usd"] > 0
    assert doc["plan"]["settings"]["audio_model"] is None and doc["plan"]["estimate"]["audio"] > 0
    assert any("gemini-3.8-flash" in w for w in doc["warnings"])  # its promotion ends on 2026-12-31

    src = long

    out = tmp_path / "prepared"
    result = _cli("prepare", str(src), "--out", str(out))
    assert result.returncode == 0, result.stderr
    plan = json.loads((out / "plan.json").read_text())
    chunks = plan["plan"]["chunks"]
    assert len(plan["chunks"]) == 2 * len(chunks)  # each chunk's picture and its sound
    assert sorted(c["track"] for c in plan["chunks"]) == sorted(["picture", "sound"] * len(chunks))
    assert all((out / Path(c["path"]).name).is_file() for c in plan["chunks"])


def test_plan_names_the_problem_for_a_broken_file() -> None:
    result = _cli("plan", str(FIXTURE_MEDIA / "x_truncated_100000B.mp4"))
    assert result.returncode == 2
    assert "x_truncated_100000B.mp4" in result.stdout and "truncated" in result.stdout


def test_plan_and_prepare_count_and_carry_the_subtitles(tmp_path: Path) -> None:
    """`plan SRC` estimates what a run would send: with describe, the subtitle text is part of it; and
    `prepare SRC` writes it onto the chunks, on the source's timeline."""
    from tests.track_files import two_sounds_and_subtitles

    src = two_sounds_and_subtitles(tmp_path / "subs.mkv")
    bare = tmp_path / "bare.mkv"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), "-map", "0", "-sn", "-c", "copy", str(bare)],
        check=True,
    )

    def text_tokens(path: Path) -> int:
        result = _cli("plan", str(path), "--json")
        assert result.returncode == 0, result.stderr
        return int(json.loads(result.stdout)["plan"]["total_estimate"]["text"])

    assert text_tokens(src) > text_tokens(bare)
    out = tmp_path / "prepared"
    result = _cli("prepare", str(src), "--out", str(out))
    assert result.returncode == 0, result.stderr
    texts = [c.get("subtitles") or "" for c in json.loads((out / "plan.json").read_text())["chunks"]]
    assert any("Crossing cue" in t for t in texts)
