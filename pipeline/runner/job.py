"""One run of the nightly job: every stage in order. The Airflow DAG calls the same stage functions,
one task each; this is the CLI's (and the tests') way to run them in one process."""

from __future__ import annotations

from datetime import date

from pipeline.config import Settings
from pipeline.gemini.client import GeminiConnection
from pipeline.runner.commit_stage import RunSummary, stage_commit, stage_validate
from pipeline.runner.context import Progress, RunContext, new_run_id
from pipeline.runner.infer_stage import stage_infer
from pipeline.runner.plan_stage import stage_discover, stage_plan
from pipeline.runner.prepare_stage import stage_prepare
from pipeline.runner.state import RunManifest
from pipeline.storage import S3Store


def run_job(
    settings: Settings,
    dt: date,
    *,
    run_id: str | None = None,
    progress: Progress | None = None,
    store: S3Store | None = None,
    connection: GeminiConnection | None = None,
) -> RunSummary | RunManifest:
    """Run every stage for one date. A dry run stops after planning and returns the manifest."""
    ctx = RunContext(settings, dt, run_id or new_run_id(dt), store=store or S3Store())
    if progress is not None:
        ctx.progress = progress
    try:
        stage_discover(ctx)
        manifest = stage_plan(ctx, connection)
        if settings.dry_run:
            return manifest
        stage_prepare(ctx)
        stage_infer(ctx, connection)
        stage_validate(ctx, connection=connection)
        return stage_commit(ctx)
    finally:
        ctx.close()
