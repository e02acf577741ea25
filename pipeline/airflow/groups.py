"""Fan-out of `prepare` over groups of items, and the reduce that merges them into the manifest.

Airflow maps a task over a list pushed as XCom; the list may not exceed `[core] max_map_length` (1024)
however many objects landed that day. So we never map over items or chunks: `plan_groups` cuts the
manifest's active items into at most `max_groups` contiguous index ranges ("start-stop", stop
exclusive) of balanced size. Each mapped `prepare_group` reads the manifest (read only), prepares its
items and writes its own result file `<staging>/groups/prepare/<start>-<stop>.json`, so parallel tasks
never write the same object. One `merge_groups` task then folds the per-group files into the manifest;
an item no group file covers (e.g. the groups of a cleared, re-planned run) is prepared there, so the
merge never leaves an active item unprepared.
"""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass

from pipeline.prepare import prepare_item
from pipeline.run.context import RunContext
from pipeline.run.state import ItemState, RunManifest
from pipeline.storage import S3Location

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
    active items. Empty when nothing is left to prepare."""
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


def group_result_loc(ctx: RunContext, group_id: str) -> S3Location:
    return ctx.layout.group_result(ctx.run_id, "prepare", group_id)


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
    manifest = ctx.load()
    results: dict[str, dict[str, object]] = {}
    chunks = failed = 0
    for index in range(group.start, min(group.stop, len(manifest.items))):
        item = manifest.items[index]
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
    merged: set[int] = set()
    results = ctx.layout.group_results(ctx.run_id, "prepare")
    for obj in ctx.store.list(results):
        doc = ctx.store.get_json(S3Location(results.bucket, obj["Key"]))
        for index, state in doc["items"].items():
            position = int(index)
            current = manifest.items[position]
            result = ItemState.model_validate(state)
            if result.source.uri != current.source.uri:  # stale file from an earlier plan of this run
                continue
            manifest.items[position] = result
            merged.add(position)
    leftovers = [i for n, i in enumerate(manifest.items) if i.active and n not in merged and not i.prepared]
    for item in leftovers:
        prepare_item(ctx, item)
    if leftovers:
        ctx.progress.note(f"prepared {len(leftovers)} item(s) no group result covered")
    if "prepare" not in manifest.stages_done:
        manifest.stages_done.append("prepare")
    ctx.save(manifest)
    return manifest
