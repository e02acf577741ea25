"""One run of the nightly job: every stage in order. The Airflow DAG calls the same stage functions,
one task each; this is the CLI's (and the tests') way to run them in one process."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from pipeline.config import Settings
from pipeline.run.context import Progress, RunContext, new_run_id
from pipeline.run.state import RunManifest
from pipeline.storage import S3Store

if TYPE_CHECKING:
    from pipeline.commit import RunSummary
    from pipeline.gemini.client import GeminiConnection


def run_job(
    settings: Settings,
    dt: date,
    *,
    run_id: str | None = None,
    progress: Progress | None = None,
    store: S3Store | None = None,
    connection: GeminiConnection | None = None,
) -> RunSummary | RunManifest:
    """Run every stage for one date. A dry run stops after planning and returns the manifest.

    `connection` is resolved by the caller (the CLI, a test); without one it is read from the
    environment here, once for the whole run. Without credentials, the run goes as far as it can
    without calling Gemini (a dry run, a date with nothing to send) and fails where it would call it."""
    # The stages import the run's context and state: they are imported here, when a run starts.
    from pipeline.commit import stage_commit
    from pipeline.discover import stage_discover
    from pipeline.gemini.client import GeminiClient, GeminiConnection
    from pipeline.infer import stage_infer
    from pipeline.plan import stage_plan
    from pipeline.prepare import stage_prepare
    from pipeline.run.pool import ItemPool
    from pipeline.validate import stage_validate

    connection = connection or GeminiConnection.from_env_if_set()
    client = GeminiClient(connection) if connection is not None else None
    ctx = RunContext(settings, dt, run_id or new_run_id(dt), store=store or S3Store())
    if progress is not None:
        ctx.progress = progress
    # One pool of processes for the run: probe + plan, then prepare, on every core.
    pool = ItemPool(ctx)
    try:
        stage_discover(ctx)
        planned = stage_plan(ctx, client, pool)
        if settings.dry_run:
            return planned
        # Every stage loads the run's state afresh: holding the plan's copy would keep two in memory.
        del planned
        stage_prepare(ctx, pool)
        pool.close()
        stage_infer(ctx, client)
        stage_validate(ctx, client)
        return stage_commit(ctx)
    finally:
        pool.close()
        ctx.close()
