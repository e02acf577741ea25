"""The DAG's tasks of one run share the run's scratch on a host, so a source its plan task downloaded is
prepared from that copy (one whole GET per source, as in the CLI), and nothing a night downloaded or cut
stays on the worker's disk once it is in S3. Each stage gets a fresh RunContext made as the DAG's
`run_context` makes it: one per task process."""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from pipeline.airflow.groups import merge_groups, merge_plan, plan_group, plan_groups, prepare_group
from pipeline.config import Settings
from pipeline.discover import date_prefix, stage_discover
from pipeline.gemini.client import GeminiClient, GeminiConnection
from pipeline.run.context import HOST_SCRATCH_KEPT_S, RunContext, host_scratch
from pipeline.storage import S3Location, S3Store
from tests.conftest import FIXTURE_MEDIA

DT = date(2026, 11, 18)
NIGHT = ["i_webp_lossy.webp", "a_opus_mono.opus", "v_vp9_opus_320x180.webm", "x_corrupt_chunk.png"]


class DownloadCountingStore(S3Store):
    """The real S3 client; counts whole-object downloads (the test's edge only)."""

    downloads: Counter[str] = Counter()

    def download(self, loc: S3Location, path: Path) -> str:
        self.downloads[loc.key] += 1
        return super().download(loc, path)


def _task_context(settings: Settings, run_id: str) -> RunContext:
    return RunContext(
        settings, DT, run_id, store=DownloadCountingStore(), scratch=host_scratch(settings, run_id)
    )


@pytest.mark.usefixtures("services")
def test_plan_and_prepare_tasks_read_each_source_once(buckets: tuple[str, str], tmp_path: Path) -> None:
    source, dest = buckets
    store = S3Store()
    prefix = date_prefix(S3Location.parse(source), DT)
    for name in NIGHT:
        store.upload(FIXTURE_MEDIA / name, prefix.join(name))
    settings = Settings(source=source, dest=dest, work_dir=str(tmp_path), workers=1)
    run_id = "dag-run-host-scratch"
    DownloadCountingStore.downloads.clear()

    def task(stage):  # noqa: ANN001, ANN202 - one task process: a context of its own, closed after
        ctx = _task_context(settings, run_id)
        try:
            return stage(ctx)
        finally:
            ctx.close()

    task(stage_discover)
    for group in task(lambda ctx: plan_groups(ctx.load(), max_groups=2)):
        task(lambda ctx, g=group: plan_group(ctx, g))
    client = GeminiClient(GeminiConnection.from_env())  # the emulator the services fixture started
    manifest = task(lambda ctx: merge_plan(ctx, client))
    scratch = tmp_path / f"media-pipeline-host-{run_id}"
    kept = sorted(p.name.split("-", 1)[1] for p in (scratch / "sources").glob("*") if p.suffix != ".sha256")
    # the corrupt PNG failed its probe: its copy went at once; the three others wait for prepare
    assert kept == sorted(n for n in NIGHT if n != "x_corrupt_chunk.png")
    for group in task(lambda ctx: plan_groups(ctx.load(), max_groups=2)):
        task(lambda ctx, g=group: prepare_group(ctx, g))
    manifest = task(merge_groups)

    assert [i.source.key.rsplit("/", 1)[-1] for i in manifest.items if i.prepared] == sorted(NIGHT[:3])
    assert DownloadCountingStore.downloads == Counter({prefix.join(n).key: 1 for n in NIGHT})
    # prepared: every source copy and every local chunk is gone (they are in S3)
    assert [p for p in scratch.rglob("*") if p.is_file() and "gx" not in p.parts] == []


def test_scratch_of_runs_untouched_for_a_day_is_swept(tmp_path: Path) -> None:
    settings = Settings(work_dir=str(tmp_path))
    old = host_scratch(settings, "run-old")
    (old / "sources").mkdir()
    (old / "sources" / "left.mp4").write_bytes(b"x")
    recent = host_scratch(settings, "run-recent")
    someone_elses = tmp_path / "not-ours"
    someone_elses.mkdir()
    day_ago = time.time() - HOST_SCRATCH_KEPT_S - 60
    for path in (old, someone_elses):
        os.utime(path, (day_ago, day_ago))

    mine = host_scratch(settings, "run-now")

    assert mine.is_dir() and recent.is_dir() and someone_elses.is_dir()
    assert not old.exists()
    # a task of a run that is still alive touches its directory: a day later it is still there
    assert host_scratch(settings, "run-recent", now=time.time() + HOST_SCRATCH_KEPT_S - 60) == recent
    assert recent.is_dir()
    shutil.rmtree(mine)
