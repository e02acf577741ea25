"""Two runs of different dates with the same file and settings share its prepared chunks (they are keyed
by content and fingerprint). The run that commits first deletes only what no other live run leases: a
run of another date that prepared the same chunks and has not sent them yet still finds them, sends them
by signed URL and gets its answers; once it commits too, the chunk area is empty. Before leases, the
first commit deleted them and the second run's requests pointed at objects that no longer existed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline.commit import stage_commit
from pipeline.config import Settings
from pipeline.discover import stage_discover
from pipeline.gemini.client import GeminiClient, GeminiConnection
from pipeline.infer import stage_infer
from pipeline.plan import stage_plan
from pipeline.prepare import stage_prepare
from pipeline.run import run_job
from pipeline.run.context import RunContext
from pipeline.storage import S3Layout, S3Location, S3Store
from pipeline.storage.layout import CHUNK_LEASE_STALE_S, CHUNK_LEASES
from pipeline.validate import stage_validate
from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e
FILES = ["v_vp9_opus_320x180.webm", "i_webp_lossy.webp"]
DT_A, DT_B = date(2026, 11, 20), date(2026, 11, 21)


def _keys(store: S3Store, loc: S3Location) -> set[str]:
    return {o["Key"] for o in store.list(loc)}


def test_a_commit_keeps_the_chunks_another_live_run_still_has_to_send(buckets, services) -> None:  # noqa: ANN001
    source, dest = buckets
    store = S3Store()
    for dt in (DT_A, DT_B):
        for name in FILES:
            store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt={dt.isoformat()}/{name}"))
    settings = Settings(source=source, dest=dest, mode="batch", batch_poll_seconds=0.2, workers=1)
    area = S3Layout(S3Location.parse(dest)).chunk_area()
    client = GeminiClient(GeminiConnection.from_env_if_set())

    # Run B (the later date) gets as far as prepare: its chunks and its leases are in S3.
    run_b = RunContext(settings, DT_B, "share-b", store=store)
    try:
        stage_discover(run_b)
        stage_plan(run_b, client)
        stage_prepare(run_b)
        prepared = _keys(store, area)
        leases_b = {k for k in prepared if k.endswith(f"/{CHUNK_LEASES}/share-b")}
        assert len(leases_b) == len(FILES)
        chunks = prepared - leases_b

        # Run A (the earlier date, same content) runs whole: it prepares nothing new (the index is
        # there), leases the same chunks, sends them and commits, deleting only its own leases.
        summary_a = run_job(settings, DT_A, run_id="share-a", store=store)
        assert summary_a.items_ok == len(FILES)
        assert _keys(store, area) == chunks | leases_b

        # Run B sends what it prepared: every chunk is still there to fetch, every answer is good.
        stage_infer(run_b, client)
        stage_validate(run_b, client)
        summary_b = stage_commit(run_b)
    finally:
        run_b.close()
    assert summary_b.items_ok == len(FILES) and summary_b.items_failed == 0
    assert _keys(store, area) == set()


def test_a_lease_keeps_its_prefix_until_it_is_stale() -> None:
    leases = S3Layout(S3Location("b", "results")).chunk_leases("run-a")
    now = datetime(2026, 12, 3, tzinfo=UTC)
    fresh, stale = now - timedelta(hours=50), now - timedelta(seconds=CHUNK_LEASE_STALE_S + 1)
    listed = [
        {"Key": "c/sha1/fp/chunk_000.mp4", "LastModified": stale},
        {"Key": "c/sha1/fp/_leases/run-a", "LastModified": now},  # the caller's own: never keeps
        {"Key": "c/sha1/fp/_leases/run-b", "LastModified": fresh},  # a run 50 h into a batch job
        {"Key": "c/sha2/fp/_leases/run-c", "LastModified": stale},  # a run that died days ago
        {"Key": "c/sha3/fp/_leases/run-a", "LastModified": now},
        {"Key": "c/sha4/fp/_leases/nested/x", "LastModified": now},  # not a lease: a file in a folder
    ]
    assert leases.held_by_others(listed, now) == {"c/sha1/fp/"}
    assert leases.is_own("c/sha3/fp/_leases/run-a") and not leases.is_own("c/sha3/fp/_leases/run-ab")
