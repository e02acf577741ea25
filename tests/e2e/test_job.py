"""The whole job on the embedded services, checked against the sample generator's ground truth."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.catalog import price_table
from pipeline.commit import RunSummary
from pipeline.config import Settings
from pipeline.errors import BudgetExceededError
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from pipeline.tasks import DESCRIBE

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 10)
CUT_TOLERANCE_S = 1.5


def _upload(store: S3Store, source: str, media_dir) -> None:  # noqa: ANN001
    for path in sorted(media_dir.iterdir()):
        if path.is_file() and path.name != "ground_truth.json":
            store.upload(path, S3Location.parse(f"{source}/dt={DT.isoformat()}/{path.name}"))


def _tables(store: S3Store, dest: str) -> dict[str, list[dict]]:
    loc = S3Location.parse(dest)
    return {
        name: read_table(store, loc, name, DT.isoformat()).to_pylist()
        for name in ("media", "annotations", "segments", "requests", "runs", "quarantine")
    }


@pytest.fixture(scope="module")
def first_run(services, samples, tmp_path_factory):  # noqa: ANN001, ANN201
    media_dir, truth = samples
    store = S3Store()
    source, dest = "s3://gt-source/incoming", "s3://gt-dest/results"
    for bucket in ("gt-source", "gt-dest"):
        store.ensure_bucket(bucket)
    _upload(store, source, media_dir)
    # 120 s chunks: the 150-200 s sample videos span two chunks each, so stitching is on the line
    settings = Settings(source=source, dest=dest, batch_poll_seconds=0.3, max_chunk_seconds=120)
    summary = run_job(settings, DT, store=store)
    return settings, truth, summary, _tables(store, dest)


def _by_name(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["source_uri"].rsplit("/", 1)[-1], []).append(row)
    return grouped


def test_every_scene_cut_is_found_on_the_source_timeline(first_run) -> None:  # noqa: ANN001
    _, truth, _, tables = first_run
    segments = _by_name(tables["segments"])
    media = {r["source_uri"].rsplit("/", 1)[-1]: r for r in tables["media"]}
    videos = [f for f in truth.files.values() if f.media_type == "video" and f.expected_status == "ok"]
    assert videos
    for video in videos:
        assert media[video.name]["chunks"] >= 2, f"{video.name} should need more than one chunk"
        scenes = sorted(
            (s for s in segments[video.name] if s["label"].startswith("scene")), key=lambda s: s["start_s"]
        )
        boundaries = [s["start_s"] for s in scenes[1:]]
        for cut in video.cuts:
            nearest = min(boundaries, key=lambda b: abs(b - cut))
            assert abs(nearest - cut) <= CUT_TOLERANCE_S, (
                f"{video.name}: cut at {cut}s, nearest boundary {nearest}s"
            )
        # overlapping chunks saw the same scene: merged into one span, so no boundary without a cut
        for boundary in boundaries:
            assert min(abs(boundary - c) for c in video.cuts) <= CUT_TOLERANCE_S, (
                f"{video.name}: spurious boundary {boundary}"
            )
        assert [s["label"].removeprefix("scene: ") for s in scenes] == [s.colour for s in video.scenes]


def test_silent_spans_are_found(first_run) -> None:  # noqa: ANN001
    _, truth, _, tables = first_run
    segments = _by_name(tables["segments"])
    for item in truth.files.values():
        silent = [s for s in item.audio_spans if not s.loud]
        if item.expected_status != "ok" or not silent:
            continue
        found = [s for s in segments[item.name] if s["label"] == "audio: silent"]
        assert len(found) == len(silent), item.name
        for want, got in zip(silent, found, strict=True):
            assert (
                abs(got["start_s"] - want.start_s) <= CUT_TOLERANCE_S
                and abs(got["end_s"] - want.end_s) <= CUT_TOLERANCE_S
            )


def test_bad_files_fail_with_a_reason_and_the_rest_goes_on(first_run) -> None:  # noqa: ANN001
    _, truth, summary, tables = first_run
    media = {r["source_uri"].rsplit("/", 1)[-1]: r for r in tables["media"]}
    quarantine = _by_name(tables["quarantine"])
    for item in truth.files.values():
        row = media[item.name]
        assert row["status"] == item.expected_status, (item.name, row["error"])
        if item.expected_status == "failed":
            assert item.name in row["error"] and len(row["error"]) > 40
            assert quarantine[item.name][0]["reason"] == item.expected_reason
    annotated = {r["source_uri"].rsplit("/", 1)[-1] for r in tables["annotations"]}
    assert annotated == {f.name for f in truth.files.values() if f.expected_status == "ok"}
    assert all(
        r["tags"] and r["summary"] and r["task_version"] == DESCRIBE.version for r in tables["annotations"]
    )
    assert isinstance(summary, RunSummary) and summary.items_failed == len(
        [f for f in truth.files.values() if f.expected_status == "failed"]
    )


def test_costs_add_up_exactly(first_run) -> None:  # noqa: ANN001
    _, _, summary, tables = first_run
    (run,) = tables["runs"]
    request_total = sum((r["cost_usd"] for r in tables["requests"]), Decimal(0))
    assert run["cost_usd"] == request_total == summary.cost_usd > 0
    assert sum((m["cost_usd"] for m in tables["media"]), Decimal(0)) == request_total
    assert run["requests"] == len(tables["requests"])
    assert all(r["mode"] == "batch" and r["batch_job"] and r["status"] == "ok" for r in tables["requests"])
    assert run["estimated_cost_usd"] > 0 and run["price_table_version"] == price_table().version
    assert run["estimated_cost_upper_usd"] >= run["estimated_cost_usd"]


def test_a_videos_sound_is_asked_of_the_cheaper_audio_model(first_run) -> None:  # noqa: ANN001
    """describe sends each video chunk's picture to the run's model and its sound to Flash-Lite (the
    sample videos' 75-100 s chunks are long enough for the split to be the cheaper plan)."""
    settings, _, _, tables = first_run
    audio_model = DESCRIBE.prepare_defaults["audio_model"]
    media = {r["source_uri"]: r for r in tables["media"] if r["status"] == "ok"}
    requests = _by_name(tables["requests"])
    for uri, row in media.items():
        rows = requests[uri.rsplit("/", 1)[-1]]
        if not uri.endswith((".mp4", ".mkv")):  # audio files and images: one request per chunk
            assert len(rows) == row["chunks"] and {r["model"] for r in rows} == {settings.model}
            continue
        pictures = [r for r in rows if r["request_key"].endswith("-picture")]
        sounds = [r for r in rows if r["request_key"].endswith("-sound")]
        assert len(pictures) == len(sounds) == row["chunks"] and len(rows) == 2 * row["chunks"]
        assert all(r["model"] == settings.model and r["prompt_tokens_video"] > 0 for r in pictures)
        assert all(r["prompt_tokens_audio"] == 0 for r in pictures)
        assert all(r["model"] == audio_model and r["prompt_tokens_audio"] > 0 for r in sounds)
        assert all(r["thinking_level"] == "MINIMAL" for r in sounds)
        assert all(r["prompt_tokens_video"] == 0 for r in sounds)
        # one chunk's two halves cover the same span of the source
        assert sorted((r["chunk_start_s"], r["chunk_index"]) for r in pictures) == sorted(
            (r["chunk_start_s"], r["chunk_index"]) for r in sounds
        )


def test_the_pre_flight_estimate_is_within_5_percent_of_the_billed_prompt(first_run, samples) -> None:  # noqa: ANN001
    """`plan` (no model call) against what the emulator billed, per source and modality (the hand-worked
    cases in tests/documented_cases.py hold both to the documentation; this holds them to each other on
    real files). Answer and thought tokens are the model's to choose: their upper bound holds."""
    from pipeline.media import probe
    from pipeline.plan import plan_for_run
    from pipeline.tasks import get_task

    settings, _, _, tables = first_run
    media_dir, _ = samples
    billed = _by_name(tables["requests"])
    ok = [m for m in tables["media"] if m["status"] == "ok"]
    assert len(ok) >= 4
    for row in ok:
        name = row["source_uri"].rsplit("/", 1)[-1]
        path = media_dir / name
        plan = plan_for_run(row["source_uri"], probe(path), settings, get_task(settings.task))
        estimate = plan.total_estimate
        for modality in ("text", "image", "video", "audio"):
            paid = sum(r[f"prompt_tokens_{modality}"] for r in billed[name])
            wanted = getattr(estimate, modality)
            assert abs(wanted - paid) <= 0.05 * max(paid, 1), (name, modality, wanted, paid)
        assert estimate.output_max >= sum(r["output_tokens"] for r in billed[name])


def test_rerun_reuses_answers_and_pays_nothing(first_run, services) -> None:  # noqa: ANN001
    settings, _, _, before = first_run
    before_stats = services.emulator.stats()
    jobs_before, answers_before = before_stats["batch_jobs_created"], before_stats["responses_generated"]
    store = S3Store()
    summary = run_job(settings, DT, store=store)
    after = _tables(store, settings.dest)
    assert summary.requests == 0 and summary.cost_usd == 0
    assert summary.items_reused == summary.items_ok
    key = lambda r: (r["source_uri"], r["start_s"], r["end_s"], r["label"])  # noqa: E731
    assert sorted(map(key, after["segments"])) == sorted(map(key, before["segments"]))
    assert len(after["runs"]) == 2  # the ledger keeps both runs
    # Nothing was sent at all: no batch job, no answer generated.
    after_stats = services.emulator.stats()
    assert after_stats["batch_jobs_created"] == jobs_before
    assert after_stats["responses_generated"] == answers_before


def test_budget_stops_before_the_first_paid_request(services, samples, buckets) -> None:  # noqa: ANN001
    media_dir, _ = samples
    source, dest = buckets
    store = S3Store()
    _upload(store, source, media_dir)
    requests_before = services.emulator.stats()
    with pytest.raises(BudgetExceededError, match=r"exceeds the budget \$0\.0001.*scenes_a\.mp4"):
        run_job(Settings(source=source, dest=dest, budget_usd=0.0001), DT, store=store)
    assert services.emulator.stats() == requests_before
    assert _tables(store, dest)["runs"] == []


def test_a_date_with_nothing_to_send_needs_no_gemini_credentials(services, buckets, monkeypatch) -> None:  # noqa: ANN001
    source, dest = buckets
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    summary = run_job(Settings(source=source, dest=dest), date(2026, 11, 30), store=S3Store())
    assert summary.items_total == 0 and summary.requests == 0
    (run,) = read_table(S3Store(), S3Location.parse(dest), "runs").to_pylist()
    assert run["items_total"] == 0 and run["cost_usd"] == 0
