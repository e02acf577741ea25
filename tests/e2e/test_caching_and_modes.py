"""Context caching of a long task prompt, and how mode=auto chooses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.config import Settings
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from pipeline.tasks import DESCRIBE, Task
from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 7)
FILES = ["i_webp_lossy.webp", "a_opus_mono.opus", "i_jpeg_exif_orientation6.jpg"]

# A task whose instructions are long enough (> 4,096 tokens, the 3.x minimum) to be worth a context cache.
LONG_PROMPT = (
    DESCRIBE.prompt
    + "\n\nStyle guide:\n"
    + "\n".join(
        f"- Rule {i}: describe colours, shapes and sounds precisely; never guess names or places."
        for i in range(200)
    )
)
VERBOSE = Task(
    name="verbose_describe", version="verbose-v1", prompt=LONG_PROMPT, response_model=DESCRIBE.response_model
)


def _load(source: str) -> S3Store:
    store = S3Store()
    for name in FILES:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt={DT.isoformat()}/{name}"))
    return store


def test_long_prompt_is_cached_and_its_storage_is_paid(services, buckets) -> None:  # noqa: ANN001
    source, dest = buckets
    store = _load(source)
    before = services.emulator.stats()["tokens"]["cached"]
    settings = Settings(
        source=source, dest=dest, task="tests.e2e.test_caching_and_modes:VERBOSE", mode="sync"
    )
    summary = run_job(settings, DT, store=store)
    assert summary.items_ok == len(FILES)
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    answers = [r for r in requests if r["mode"] == "sync"]
    assert len(answers) == len(FILES) and all(r["cached_tokens"] > 1024 for r in answers)
    assert services.emulator.stats()["tokens"]["cached"] - before == sum(r["cached_tokens"] for r in answers)
    (storage,) = [r for r in requests if r["mode"] == "cache"]
    assert storage["cost_usd"] > 0
    (run,) = read_table(store, S3Location.parse(dest), "runs").to_pylist()
    assert run["cost_usd"] == sum((r["cost_usd"] for r in requests), Decimal(0))


def test_short_prompt_is_not_cached(services, buckets) -> None:  # noqa: ANN001
    source, dest = buckets
    store = _load(source)
    run_job(Settings(source=source, dest=dest, mode="sync"), DT, store=store)
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    assert all(r["cached_tokens"] == 0 and r["mode"] == "sync" for r in requests)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "sync"),
        ({"deadline_minutes": 5}, "sync"),
        ({"deadline_minutes": 600, "max_chunk_seconds": 1, "overlap_seconds": 0}, "batch"),
    ],
)
def test_auto_mode_picks_by_size_and_deadline(services, buckets, extra, expected) -> None:  # noqa: ANN001
    source, dest = buckets
    store = _load(source)
    store.upload(
        FIXTURE_MEDIA / "v_h264_aac_2subs.mkv", S3Location.parse(f"{source}/dt={DT.isoformat()}/long.mkv")
    )
    run_job(Settings(source=source, dest=dest, mode="auto", batch_poll_seconds=0.2, **extra), DT, store=store)
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    assert {r["mode"] for r in requests} == {expected}
