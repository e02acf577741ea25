"""Fan-out of `plan` and `prepare` over groups of items, and the reduces that merge them into the manifest.

Airflow maps a task over a list pushed as XCom; the list may not exceed `[core] max_map_length` (1024)
however many objects landed that day. So we never map over items or chunks: `plan_groups` cuts the
manifest's active items into at most `max_groups` contiguous index ranges ("start-stop", stop
exclusive) of balanced size. Each mapped `prepare_group` reads only the state shards that hold its
range (`RunContext.load_items`, read only), prepares its items and writes its own result file
`<staging>/groups/prepare/<start>-<stop>.json`, so parallel tasks never write the same object. One `merge_groups` task then folds the per-group files into the manifest;
an item no group file covers (e.g. the groups of a cleared, re-planned run) is prepared there, so the
merge never leaves an active item unprepared.

`plan` is spread the same way: `plan_group` probes and plans one group's items (what discover kept)
into `<staging>/groups/plan/<start>-<stop>.json`, and `merge_plan` folds them in, plans any leftover,
and finishes the plan once for the run (duplicates across groups, the estimate, the budget guard, the
model check: pipeline.plan.finish_plan). Each source is read and probed once, by its group's task.
"""

from __future__ import annotations

import functools
import math
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.models import ItemStatus
from pipeline.prepare import prepare_item
from pipeline.run.context import RunContext
from pipeline.run.state import ItemState, RunManifest
from pipeline.storage import S3Location

if TYPE_CHECKING:
    from pipeline.gemini.client import GeminiClient

# Well below max_map_length (1024): each mapped task instance costs the scheduler a row and a process.
DEFAULT_MAX_GROUPS = 64


@dataclass(frozen=True)
class ItemGroup:
    """A contiguous range of manifest item indices, [start, stop)."""

    start: int
    stop: int

    @property
    def id(self) -> str:
        return f"{self.start}-{self.stop}"

    @classmethod
    def parse(cls, group_id: str) -> ItemGroup:
        start, _, stop = group_id.partition("-")
        group = cls(int(start), int(stop))
        if not 0 <= group.start < group.stop:
            raise ValueError(f"bad item group {group_id!r}: expected 'start-stop' with start < stop")
        return group


def plan_groups(manifest: RunManifest, max_groups: int = DEFAULT_MAX_GROUPS) -> list[str]:
    """Group ids covering every active item: at most `max_groups`, each with about the same number of
    active items. Empty when nothing is left to prepare (or, after discover, to plan)."""
    if max_groups < 1:
        raise ValueError("max_groups must be at least 1")
    active = [index for index, item in enumerate(manifest.items) if item.active]
    if not active:
        return []
    size = math.ceil(len(active) / max_groups)
    groups = []
    for first in range(0, len(active), size):
        members = active[first : first + size]
        groups.append(ItemGroup(members[0], members[-1] + 1).id)
    return groups


def group_result_loc(ctx: RunContext, group_id: str, stage: str = "prepare") -> S3Location:
    return ctx.layout.group_result(ctx.run_id, stage, group_id)


def merged_group_results(ctx: RunContext, manifest: RunManifest, stage: str) -> set[int]:
    """Fold every `stage` group result of this run into `manifest`; the indices it replaced."""
    merged: set[int] = set()
    results = ctx.layout.group_results(ctx.run_id, stage)
    for obj in ctx.store.list(results):
        doc = ctx.store.get_json(S3Location(results.bucket, obj["Key"]))
        for index, state in doc["items"].items():
            position = int(index)
            if position >= len(manifest.items):
                continue
            current = manifest.items[position]
            result = ItemState.model_validate(state)
            if result.source.uri != current.source.uri:  # stale file from an earlier plan of this run
                continue
            manifest.items[position] = result
            merged.add(position)
    return merged


def plan_group(ctx: RunContext, group_id: str) -> dict[str, object]:
    """Probe, plan and estimate the items discover kept in one group (on this worker's cores); write
    their states to the group's own result file. Returns a small summary for XCom."""
    from pipeline.plan import answer_size_model, plan_item
    from pipeline.run.pool import ItemPool

    group = ItemGroup.parse(group_id)
    sizes = answer_size_model(ctx.store, ctx.dest, ctx.task)
    todo = [(n, item) for n, item in ctx.load_items(group.start, group.stop) if item.status == ItemStatus.OK]
    results: dict[str, dict[str, object]] = {}
    failed = 0
    with ItemPool(ctx) as pool:
        for index, item in pool.map(functools.partial(plan_item, sizes=sizes), todo):
            results[str(index)] = item.model_dump(mode="json")
            failed += 0 if item.status == ItemStatus.OK else 1
            ctx.progress.advance("plan", f"{item.source.key.rsplit('/', 1)[-1]}: {item.status.value}")
    ctx.store.put_json(group_result_loc(ctx, group_id, "plan"), {"group": group_id, "items": results})
    return {"group": group_id, "items": len(results), "failed": failed, "worker": worker_name()}


def merge_plan(ctx: RunContext, client: GeminiClient | None) -> RunManifest:
    """The reduce of `plan_group`: fold every group's result into the manifest (one writer), plan what no
    group covered, then finish the plan for the whole run."""
    from pipeline.plan import answer_size_model, finish_plan, plan_item

    manifest = ctx.load()
    sizes = answer_size_model(ctx.store, ctx.dest, ctx.task)
    merged = merged_group_results(ctx, manifest, "plan")
    leftovers = [
        i
        for n, i in enumerate(manifest.items)
        if i.status == ItemStatus.OK and n not in merged and i.probe is None
    ]
    for item in leftovers:
        plan_item(ctx, item, sizes)
    if leftovers:
        ctx.progress.note(f"planned {len(leftovers)} item(s) no group result covered")
    return finish_plan(ctx, manifest, client, sizes)


def worker_name() -> str:
    """Which worker runs this task: the Celery worker's name when there is one, else the host name."""
    try:
        from celery import current_task

        if current_task and current_task.request.hostname:
            return str(current_task.request.hostname)
    except Exception:  # noqa: BLE001 - not under Celery, or no task request: the host name will do
        pass
    return socket.gethostname()


def prepare_group(ctx: RunContext, group_id: str) -> dict[str, object]:
    """Prepare the active items of one group; write their states to the group's own result file.
    Returns a small summary for XCom (never the chunks themselves)."""
    group = ItemGroup.parse(group_id)
    results: dict[str, dict[str, object]] = {}
    chunks = failed = 0
    for index, item in ctx.load_items(group.start, group.stop):
        if not item.active:
            continue
        prepare_item(ctx, item)
        results[str(index)] = item.model_dump(mode="json")
        chunks += len(item.prepared)
        failed += 0 if item.active else 1
        ctx.progress.advance(
            "prepare", f"{item.source.key.rsplit('/', 1)[-1]}: {len(item.prepared)} chunk(s)"
        )
    ctx.store.put_json(group_result_loc(ctx, group_id), {"group": group_id, "items": results})
    return {
        "group": group_id,
        "items": len(results),
        "chunks": chunks,
        "failed": failed,
        "worker": worker_name(),
    }


def merge_groups(ctx: RunContext) -> RunManifest:
    """The reduce: fold every group's result into the manifest (one writer), prepare what no group
    covered, mark the stage done."""
    manifest = ctx.load()
    merged = merged_group_results(ctx, manifest, "prepare")
    leftovers = [i for n, i in enumerate(manifest.items) if i.active and n not in merged and not i.prepared]
    for item in leftovers:
        prepare_item(ctx, item)
    if leftovers:
        ctx.progress.note(f"prepared {len(leftovers)} item(s) no group result covered")
    if "prepare" not in manifest.stages_done:
        manifest.stages_done.append("prepare")
    ctx.save(manifest)
    return manifest
