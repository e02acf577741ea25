"""Stages before any model call: discover, then probe + plan + estimate + budget guard."""

from __future__ import annotations

import hashlib
import json
import logging
from decimal import Decimal

from pipeline.catalog import catalog_warnings
from pipeline.cost import plan_cost, tier_for_mode
from pipeline.discover import discover
from pipeline.errors import BudgetExceededError, MediaError
from pipeline.estimate import AnswerSizeModel, answer_size_model
from pipeline.gemini.client import GeminiConnection, make_client
from pipeline.media import SNIFF_BYTES, check_head, plan_for_run, probe, verify_decodable
from pipeline.models import ItemStatus, MediaType
from pipeline.runner.context import RunContext
from pipeline.runner.service_check import ensure_models_served
from pipeline.runner.state import ItemState, RunManifest
from pipeline.storage import S3Location

log = logging.getLogger("pipeline.run")
BUDGET_WARNING_SHARE = 0.8


def settings_fingerprint(ctx: RunContext) -> str:
    """What decides the prepared bytes and the request: equal fingerprints give equal chunks."""
    s = ctx.settings
    doc = {
        "prepare": ctx.settings.prepare_settings(ctx.task).model_dump(),
        "max_chunk_seconds": s.max_chunk_seconds,
        "overlap_seconds": s.overlap_seconds,
        "model": s.model,
        "task_version": ctx.task.version,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def stage_discover(ctx: RunContext) -> RunManifest:
    manifest = ctx.new_manifest()
    objects = discover(ctx.store, ctx.source, ctx.dt, max_items=ctx.settings.max_items)
    ctx.progress.note(f"discovered {len(objects)} object(s) under {ctx.source.uri}/dt={ctx.dt.isoformat()}/")
    for obj in objects:
        item = ItemState(source=obj)
        if obj.bytes == 0:
            item.fail("discover", "empty_object", f"{obj.uri} is empty (0 bytes): re-upload the file")
        elif obj.sniffed_type == MediaType.UNKNOWN:
            # Text and playlists are refused here without a download; unknown binaries go on to
            # ffprobe, which knows more containers than the sniffer.
            head = ctx.store.get_bytes(S3Location.parse(obj.uri), (0, SNIFF_BYTES - 1))
            try:
                check_head(head, obj.uri, obj.uri)
            except MediaError as exc:
                item.fail("discover", exc.reason, str(exc))
        manifest.items.append(item)
    manifest.stages_done.append("discover")
    ctx.save(manifest)
    return manifest


def _plan_item(ctx: RunContext, item: ItemState, seen: dict[str, str], sizes: AnswerSizeModel) -> None:
    path, sha = ctx.local_source(item)
    item.source.sha256 = sha
    if sha in seen:
        item.fail(
            "plan",
            "duplicate_content",
            f"{item.source.uri} has the same bytes as {seen[sha]} in this run",
            ItemStatus.DUPLICATE,
        )
        return
    seen[sha] = item.source.uri
    item.fingerprint = settings_fingerprint(ctx)
    try:
        result = probe(path, source=item.source.uri)
        verify_decodable(path, result, source=item.source.uri)
    except MediaError as exc:
        item.fail("probe", exc.reason, str(exc))
        return
    item.probe = result
    ledger = ctx.store.get_json_or_none(ctx.answer_ledger(sha))
    if ledger is not None:
        item.reused_from_run_id = ledger["run_id"]
        item.answer = ledger["answer"]
        return
    s = ctx.settings
    try:
        item.plan = plan_for_run(item.source.uri, result, s, ctx.task, sizes)
    except MediaError as exc:
        item.fail("plan", exc.reason, str(exc))
        return
    tier = tier_for_mode(s.mode)
    routes = sizes.answered_by
    expected = plan_cost(s.model, item.plan, tier=tier, on=ctx.today, answered_by=routes)
    upper = plan_cost(s.model, item.plan, tier=tier, on=ctx.today, upper=True, answered_by=routes)
    item.plan.estimated_cost_usd, item.plan.estimated_cost_upper_usd = float(expected), float(upper)
    item.estimated_cost_usd, item.estimated_cost_upper_usd = str(expected), str(upper)


def planned_models(manifest: RunManifest) -> list[str]:
    """Every model the run's requests go to: the run's, and the audio model where a sound is split."""
    models = [manifest.model]
    for item in manifest.items:
        if item.active and item.plan is not None and item.plan.settings.audio_model:
            models.append(item.plan.settings.audio_model)
    return list(dict.fromkeys(models))


def stage_plan(ctx: RunContext, connection: GeminiConnection | None = None) -> RunManifest:
    """Probe, plan and estimate every item, then (before anything is paid) check the models with the
    service and the estimate against the budget. A dry run, or a date with nothing to send, needs no
    Gemini credentials."""
    manifest = ctx.load()
    sizes = answer_size_model(ctx.store, ctx.dest, ctx.task)
    manifest.estimate_basis = sizes.described
    seen: dict[str, str] = {}
    todo = [i for i in manifest.items if i.status == ItemStatus.OK]
    ctx.progress.start("plan", len(todo))
    for item in todo:
        _plan_item(ctx, item, seen, sizes)
        ctx.progress.advance("plan", f"{item.source.key.rsplit('/', 1)[-1]}: {item.status.value}")
    active = [i for i in manifest.items if i.active]
    manifest.estimated_cost_usd = str(sum((Decimal(i.estimated_cost_usd) for i in active), Decimal(0)))
    manifest.estimated_cost_upper_usd = str(
        sum((Decimal(i.estimated_cost_upper_usd) for i in active), Decimal(0))
    )
    ctx.progress.note(f"answer and thought tokens estimated from {sizes.described}")
    for asked, answering in sizes.answered_by.items():
        manifest.note(
            f"requests to {asked} were mostly answered by {answering} in recent runs: the estimate "
            f"prices them at {answering}'s rates"
        )
    for warning in catalog_warnings(planned_models(manifest), ctx.today):
        manifest.note(warning)
        ctx.progress.note(f"WARNING: {warning}")
    manifest.stages_done.append("plan")
    ctx.save(manifest)
    check_budget(manifest, ctx.progress)
    if active and not ctx.settings.dry_run:
        client = make_client(connection or GeminiConnection.from_env())
        ensure_models_served(ctx, manifest, client, planned_models(manifest))
    return manifest


def check_budget(manifest: RunManifest, progress) -> None:  # noqa: ANN001 - Progress protocol
    """The guard uses the estimate's upper bound (every answer and thought at its upper bound), so a
    run it lets through does not pass the budget unless the model writes beyond what it ever has."""
    if manifest.budget_usd is None:
        return
    upper = Decimal(manifest.estimated_cost_upper_usd)
    expected = Decimal(manifest.estimated_cost_usd)
    budget = Decimal(str(manifest.budget_usd))
    biggest = sorted(
        (i for i in manifest.items if i.active),
        key=lambda i: Decimal(i.estimated_cost_upper_usd),
        reverse=True,
    )[:3]
    named = ", ".join(f"{i.source.uri} (up to ${Decimal(i.estimated_cost_upper_usd):.4f})" for i in biggest)
    if upper > budget:
        raise BudgetExceededError(
            f"run {manifest.run_id}: the estimate's upper bound ${upper:.4f} (expected ${expected:.4f}) exceeds "
            f"the budget ${budget:.4f}; nothing was sent. The guard uses the upper bound. Biggest items: {named}. "
            "Raise --budget-usd, lower --max-items, or reduce video fps / chunk size."
        )
    if upper >= budget * Decimal(str(BUDGET_WARNING_SHARE)):
        progress.note(
            f"WARNING: the estimate's upper bound ${upper:.4f} (expected ${expected:.4f}) is "
            f"{upper / budget:.0%} of the ${budget:.4f} budget; biggest: {named}"
        )
