"""`media-pipeline live-check` against the emulator: a service that bills, thinks, routes and caches as
the catalog says gives MATCH everywhere (exit 0); one that disagrees gives DIFF rows (exit 1); no
credentials is a configuration error (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.catalog import current_models, default_run_model, model_info
from pipeline.cli import app
from pipeline.tasks import DESCRIBE

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
KEY = "emulator-key-not-secret"
ROW_KEYS = {"check", "case", "expected", "observed", "verdict", "detail"}
ROUTED = {"gemini-2.5-flash", "gemini-2.5-pro", "gemini-3.5-flash", "gemini-3.7-flash"}


@pytest.fixture
def emulator() -> Iterator[Any]:
    """A private emulator per configuration: what it serves and routes is the test's."""
    started: list[GeminiEmulator] = []

    def start(**config: Any) -> GeminiEmulator:
        emu = GeminiEmulator(EmulatorConfig(file_processing_s=0.0, **config)).start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


def _live_check(emu: GeminiEmulator, *args: str) -> tuple[int, dict[str, Any], str]:
    env = {"GOOGLE_GEMINI_BASE_URL": emu.base_url, "GEMINI_API_KEY": KEY, "GOOGLE_API_KEY": None}
    result = CliRunner().invoke(app, ["live-check", *args, "--json"], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(result.stdout), " ".join(result.stderr.split())


def _rows(doc: dict[str, Any], check: str) -> dict[str, dict[str, Any]]:
    return {row["case"]: row for row in doc["rows"] if row["check"] == check}


def test_every_check_matches_an_emulator_that_routes_retired_ids(emulator) -> None:  # noqa: ANN001
    emu = emulator(route_retired=True)
    code, doc, said = _live_check(emu)
    diffs = [row for row in doc["rows"] if row["verdict"] == "DIFF"]
    assert code == 0 and not diffs, diffs
    # where it went and what it would cost is said first, on stderr (stdout is the JSON alone)
    assert f"against {emu.base_url}" in said and KEY not in said and "at most $" in said
    assert (
        doc["model"] == default_run_model() and doc["audio_model"] == DESCRIBE.prepare_defaults["audio_model"]
    )
    assert 0 < doc["estimated_cost_usd"] < 0.05
    assert all(set(row) == ROW_KEYS and row["verdict"] in ("MATCH", "INFO") for row in doc["rows"])
    assert [r["check"] for r in doc["rows"]] == sorted(
        (r["check"] for r in doc["rows"]),
        key=["models", "tokens", "thinking", "routing", "sampling", "cache"].index,
    )
    assert doc["summary"]["DIFF"] == 0 and doc["summary"]["MATCH"] > 40

    models = _rows(doc, "models")
    for name in current_models():
        assert models[name]["observed"] == "served"
        assert models[f"{name} token limits (input / output)"]["verdict"] == "MATCH"
    retired = {case.split(" ")[0] for case, row in models.items() if row["verdict"] == "INFO"}
    assert retired == ROUTED

    tokens = _rows(doc, "tokens")  # 3.8 Flash: per-part resolutions, ULTRA_HIGH for images
    assert tokens["image 1024x768 @ ULTRA_HIGH (per part): IMAGE"]["observed"] == 2240
    assert tokens["video 10 s 320x240 @ HIGH (per part): VIDEO"]["observed"] == 10 * 280
    assert tokens["video 10 s 320x240 + tone @ LOW (per part): AUDIO"]["observed"] == 320
    assert tokens["audio 10 s WAV (no media resolution on sound): AUDIO"]["observed"] == 320
    assert not any(case.startswith("video 10 s 320x240 @") and case.endswith("AUDIO") for case in tokens)
    (text,) = [row for case, row in tokens.items() if case.startswith("TEXT")]
    assert text["expected"] == text["observed"] == 3  # "Describe.": the emulator does not bill the schema

    thinking = _rows(doc, "thinking")
    assert thinking["gemini-3.8-flash MINIMAL"]["observed"] == "refused (400)"  # not among its levels
    assert thinking["gemini-3.5-flash-lite MINIMAL"]["observed"] == "accepted"
    assert thinking["gemini-3.8-flash LOW: thought tokens (typical, an assumption)"]["observed"] > 0

    routing = _rows(doc, "routing")
    assert {case: row["observed"] for case, row in routing.items()} == {
        name: model_info(name).routed_to for name in ROUTED
    }
    assert _rows(doc, "sampling")["gemini-3.8-flash temperature=0.0 (catalog: ignored)"]["verdict"] == "MATCH"
    cache = [row["observed"] for row in doc["rows"] if row["check"] == "cache" and row["verdict"] != "INFO"]
    assert cache == ["refused (400)", "accepted"]

    stats = emu.stats()
    assert stats["caches"]["created"] == 1 and stats["caches"]["count"] == 0  # deleted right away
    assert stats["requests"]["models.get"] == len(current_models()) + len(ROUTED)


def test_the_table_on_a_request_wide_family(emulator) -> None:  # noqa: ANN001
    """2.5 Flash-Lite takes one resolution per request and bills images by 768 px tiles."""
    emu = emulator()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "GEMINI_"))}
    env.update(GOOGLE_GEMINI_BASE_URL=emu.base_url, GEMINI_API_KEY=KEY, COLUMNS="220")
    proc = subprocess.run(
        [str(REPO / ".venv/bin/media-pipeline"), "live-check", "tokens", "cache",
         "--model", "gemini-2.5-flash-lite", "--audio-model", "gemini-2.5-flash-lite"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(f"against {emu.base_url}" in line for line in lines)
    tiles = next(line for line in lines if "image 1024x768 @ UNSPECIFIED (request-wide): IMAGE" in line)
    assert [cell.strip() for cell in tiles.split("│")[3:6]] == ["516", "516", "MATCH"]  # 2 tiles x 258
    assert any(
        "cache of 1,843 tokens (below the minimum 2,048)" in line and "MATCH" in line for line in lines
    )
    assert "the service agrees with the catalog" in proc.stdout and "0 differ" in proc.stdout
    assert "ULTRA_HIGH" not in proc.stdout and "per part" not in proc.stdout


@pytest.mark.parametrize(
    ("config", "check", "case", "observed"),
    [
        # the catalog says 2.5 Flash is routed to 3.5 Flash-Lite, and 3.7 Flash to 3.8 Flash
        ({"routes": {"gemini-2.5-flash": "gemini-3.6-flash"}}, "routing", "gemini-2.5-flash", "gemini-3.6-flash"),
        ({"routes": {"gemini-2.5-flash": "gemini-3.6-flash"}}, "routing", "gemini-3.7-flash", "not served (404)"),
        ({"unserved": ["gemini-3.6-flash"]}, "models", "gemini-3.6-flash", "not served (404)"),
        ({"cache_min_tokens": 1000}, "cache", "gemini-3.8-flash cache of 3,686 tokens (below the minimum 4,096)", "accepted"),
    ],
)  # fmt: skip
def test_a_service_that_disagrees_with_the_catalog_exits_1(emulator, config, check, case, observed) -> None:  # noqa: ANN001
    emu = emulator(route_retired=False, **config)
    code, doc, _ = _live_check(emu, check)
    assert code == 1
    row = _rows(doc, check)[case]
    assert (row["observed"], row["verdict"]) == (observed, "DIFF"), row
    assert doc["summary"]["DIFF"] >= 1 and {r["check"] for r in doc["rows"]} == {check}
    if observed.startswith("not served"):
        assert "404 NOT_FOUND" in row["detail"]  # the service's own words, classified by translate_api_error


def test_no_credentials_or_an_unknown_model_is_a_configuration_error(emulator) -> None:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "GEMINI_"))}
    proc = subprocess.run(
        [str(REPO / ".venv/bin/media-pipeline"), "live-check", "models"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env={**env, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no Gemini credentials: set GEMINI_API_KEY" in proc.stdout
    assert "live-check models against" not in proc.stdout  # nothing was sent anywhere

    emu = emulator()
    result = CliRunner().invoke(
        app,
        ["live-check", "models", "--model", "gemini-9-flash"],
        env={"GOOGLE_GEMINI_BASE_URL": emu.base_url, "GEMINI_API_KEY": KEY},
    )
    assert result.exit_code == 2 and "unknown model 'gemini-9-flash'" in " ".join(result.stdout.split())
    assert emu.stats()["requests_total"] == 0
    result = CliRunner().invoke(app, ["live-check", "nonsense"], env={"GEMINI_API_KEY": KEY})
    assert result.exit_code == 2 and "choose from models, tokens" in " ".join(result.output.split())
