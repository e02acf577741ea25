"""plan: probe each source, plan its chunks, estimate its tokens and cost, guard the budget, and ask the
service for every model the run will use, all before anything is paid."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from pipeline.account import plan_cost, tier_for_mode
from pipeline.catalog import catalog_warnings
from pipeline.errors import MediaError
from pipeline.media import decode_warning, probe, verify_decodable
from pipeline.models import ItemStatus
from pipeline.plan.answer_size import AnswerSizeModel
from pipeline.plan.budget import check_budget
from pipeline.plan.chunk_plan import plan_for_run
from pipeline.plan.subtitles import subtitle_cues
from pipeline.prepare import version as preparation
from pipeline.run.context import RunContext
from pipeline.run.pool import ItemPool
from pipeline.run.state import AnswerLedgerEntry, ItemState, RunManifest

if TYPE_CHECKING:  # the pool's workers import this module: they never call Gemini or read the tables
    from pipeline.gemini.client import GeminiClient

log = logging.getLogger("pipeline.run")


def settings_fingerprint(ctx: RunContext) -> str:
    """What decides the prepared bytes and the request: equal fingerprints give equal chunks."""
    s = ctx.settings
    doc: dict[str, object] = {
        "prepare": ctx.settings.prepare_settings(ctx.task).model_dump(),
        "max_chunk_seconds": s.max_chunk_seconds,
        "overlap_seconds": s.overlap_seconds,
        "model": s.model,
        "task_version": ctx.task.version,
    }
    # version 1 is the code before preparation was versioned: its fingerprints stay as they were
    if preparation.PREPARATION_VERSION > 1:
        doc["preparation"] = preparation.PREPARATION_VERSION
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def plan_item(ctx: RunContext, item: ItemState, sizes: AnswerSizeModel) -> None:
    """Read, probe, plan and estimate one item in place (or fail it with a reason). Touches no manifest
    and no other item, so items plan in parallel (a process pool, the DAG's mapped groups); duplicates
    are found afterwards, over the whole run (`mark_duplicates`)."""
    try:
        _plan_local(ctx, item, sizes)
    finally:
        if ctx.settings.dry_run or not item.active:  # nothing will prepare it: its copy goes now
            ctx.release_source(item)


def _plan_local(ctx: RunContext, item: ItemState, sizes: AnswerSizeModel) -> None:
    path, sha = ctx.local_source(item)
    item.source.sha256 = sha
    item.fingerprint = settings_fingerprint(ctx)
    try:
        result = verify_decodable(path, probe(path, source=item.source.uri), source=item.source.uri)
    except MediaError as exc:
        item.fail("probe", exc.reason, str(exc))
        return
    item.probe = result
    warning = decode_warning(result, item.source.uri)
    if warning is not None:  # answered all the same, up to where it decodes
        item.warn(*warning)
    ledger = ctx.store.get_json_or_none(ctx.answer_ledger(sha))
    if ledger is not None:
        entry = AnswerLedgerEntry.model_validate(ledger)
        item.reused_from_run_id, item.answer = entry.run_id, entry.answer
        return
    s = ctx.settings
    try:
        cues = subtitle_cues(item, path, ctx.task)
        item.plan = plan_for_run(item.source.uri, result, s, ctx.task, sizes, cues)
    except MediaError as exc:
        item.fail("plan", exc.reason, str(exc))
        return
    tier = tier_for_mode(s.mode)
    routes = sizes.answered_by
    expected = plan_cost(s.model, item.plan, tier=tier, on=ctx.today, answered_by=routes)
    upper = plan_cost(s.model, item.plan, tier=tier, on=ctx.today, upper=True, answered_by=routes)
    item.plan.estimated_cost_usd, item.plan.estimated_cost_upper_usd = expected, upper
    item.estimated_cost_usd, item.estimated_cost_upper_usd = expected, upper


def mark_duplicates(items: list[ItemState]) -> int:
    """The second and later items with the bytes of an earlier one (in listing order) become duplicates,
    whatever their own plan said; returns how many."""
    seen: dict[str, str] = {}
    marked = 0
    for item in items:
        sha = item.source.sha256
        if not sha or item.stage == "discover":
            continue
        if sha not in seen:
            seen[sha] = item.source.uri
            continue
        item.fail(
            "plan",
            "duplicate_content",
            f"{item.source.uri} has the same bytes as {seen[sha]} in this run",
            ItemStatus.DUPLICATE,
        )
        item.probe = item.plan = item.answer = item.fingerprint = item.reused_from_run_id = None
        item.estimated_cost_usd = item.estimated_cost_upper_usd = Decimal(0)
        marked += 1
    return marked


def plannable(manifest: RunManifest) -> list[tuple[int, ItemState]]:
    """(index, item) of every item discover kept."""
    return [(n, i) for n, i in enumerate(manifest.items) if i.status == ItemStatus.OK]


def planned_models(manifest: RunManifest) -> list[str]:
    """Every model the run's requests go to: the run's, and the audio model where a sound is split."""
    models = [manifest.model]
    for item in manifest.items:
        if item.active and item.plan is not None and item.plan.settings.audio_model:
            models.append(item.plan.settings.audio_model)
    return list(dict.fromkeys(models))


def stage_plan(ctx: RunContext, client: GeminiClient | None, pool: ItemPool | None = None) -> RunManifest:
    """Probe, plan and estimate every item (on `pool`'s processes, or one by one), then finish the plan
    (`finish_plan`). A dry run, or a date with nothing to send, needs no Gemini credentials (`client`
    None)."""
    from pipeline.plan.history import answer_size_model  # reads the tables (pyarrow): the parent only

    manifest = ctx.load()
    sizes = answer_size_model(ctx.store, ctx.dest, ctx.task)
    todo = plannable(manifest)
    ctx.progress.start("plan", len(todo))
    work = functools.partial(plan_item, sizes=sizes)
    pool = pool or ItemPool(ctx, workers=1)
    for index, item in pool.map(work, todo):
        manifest.items[index] = item
        ctx.progress.advance("plan", f"{item.source.key.rsplit('/', 1)[-1]}: {item.status.value}")
    return finish_plan(ctx, manifest, client, sizes)


def finish_plan(
    ctx: RunContext, manifest: RunManifest, client: GeminiClient | None, sizes: AnswerSizeModel
) -> RunManifest:
    """What needs every item planned (the one writer of the plan): duplicates, the run's estimate and
    notes, the manifest written once, then (before anything is paid) the budget guard and the models
    checked with the service."""
    manifest.estimate_basis = sizes.described
    if mark_duplicates(manifest.items):
        for item in manifest.items:
            if item.status == ItemStatus.DUPLICATE:
                ctx.release_source(item)
    active = [i for i in manifest.items if i.active]
    manifest.estimated_cost_usd = sum((i.estimated_cost_usd for i in active), Decimal(0))
    manifest.estimated_cost_upper_usd = sum((i.estimated_cost_upper_usd for i in active), Decimal(0))
    ctx.progress.note(f"answer and thought tokens estimated from {sizes.described}")
    for asked, answering in sizes.answered_by.items():
        manifest.note(
            f"requests to {asked} were mostly answered by {answering} in recent runs: the estimate "
            f"prices them at {answering}'s rates"
        )
    for warning in catalog_warnings(planned_models(manifest), ctx.today):
        manifest.note(warning)
        ctx.progress.note(f"WARNING: {warning}")
    if "plan" not in manifest.stages_done:
        manifest.stages_done.append("plan")
    ctx.save(manifest)
    check_budget(manifest, ctx.progress)
    if active and not ctx.settings.dry_run:
        from pipeline.gemini.client import require_client
        from pipeline.run.models_check import ensure_models_served

        ensure_models_served(ctx, manifest, require_client(client), planned_models(manifest))
    return manifest
