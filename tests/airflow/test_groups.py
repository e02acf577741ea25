"""Item groups for the mapped prepare: bounded count, balanced, covering every active item."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.airflow.groups import ItemGroup, plan_groups
from pipeline.models import ItemStatus, SourceObject
from pipeline.run.state import ItemState, RunManifest


def manifest(n: int, failed: set[int] = frozenset()) -> RunManifest:  # noqa: B006
    items = []
    for i in range(n):
        item = ItemState(
            source=SourceObject(uri=f"s3://b/k{i}", key=f"k{i}", bytes=1, etag="e", sha256=f"{i:064x}")
        )
        if i in failed:
            item.status = ItemStatus.FAILED
        items.append(item)
    return RunManifest(
        run_id="r",
        dt="2026-11-02",
        started_at=datetime.now(UTC),
        model="m",
        task="t",
        task_version="v",
        mode="batch",
        source="s3://b/in",
        dest="s3://b/out",
        items=items,
    )


def covered(groups: list[str]) -> list[int]:
    return [i for g in map(ItemGroup.parse, groups) for i in range(g.start, g.stop)]


@pytest.mark.parametrize("n", [1, 3, 63, 64, 65, 1000, 100_000])
def test_groups_stay_under_the_cap_and_cover_every_item(n: int) -> None:
    groups = plan_groups(manifest(n), max_groups=64)
    assert 1 <= len(groups) <= min(n, 64)
    assert covered(groups) == list(range(n))  # contiguous, no overlap, no gap


def test_failed_items_are_not_worth_a_group() -> None:
    groups = plan_groups(manifest(6, failed={0, 1, 5}), max_groups=10)
    assert groups == ["2-3", "3-4", "4-5"]
    assert plan_groups(manifest(3, failed={0, 1, 2})) == []


def test_group_ids_are_validated() -> None:
    assert ItemGroup.parse("3-7") == ItemGroup(3, 7)
    for bad in ("7-3", "x-1", "5"):
        with pytest.raises(ValueError):
            ItemGroup.parse(bad)
