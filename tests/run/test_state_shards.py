"""The run's state on the embedded S3 as a head and parts: at 20,000 items no state object is large, a
changed outcome rewrites one part and the head, a manifest an earlier version wrote inline loads and moves
to parts, and a save killed before its head PUT leaves the state as it was last saved."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pipeline.config import Settings
from pipeline.models import PreparedChunk, SourceObject, Track
from pipeline.run.context import RunContext
from pipeline.run.shards import ITEMS_PER_SHARD, ItemShard
from pipeline.run.state import (
    BatchSubmission,
    ItemState,
    QuarantineRow,
    RequestFacts,
    RequestOutcome,
    RunManifest,
)
from pipeline.storage import S3Location, S3Store

DT = date(2026, 11, 20)
ITEMS = 20_000
LIMIT = 5 * 1024 * 1024  # the benchmark's bound on one state write


class CountingStore(S3Store):
    """The real S3 client, counting what it is asked to write and read (the test's edge only)."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: Counter[str] = Counter()
        self.gets: Counter[str] = Counter()
        self.fail_on: str | None = None

    def put_bytes(self, loc: S3Location, data: bytes, content_type: str = "application/octet-stream") -> None:
        if self.fail_on and loc.key.endswith(self.fail_on):
            raise RuntimeError(f"worker killed before writing {loc.key}")
        self.puts[loc.key] += 1
        super().put_bytes(loc, data, content_type)

    def get_bytes(self, loc: S3Location, byte_range: tuple[int, int] | None = None) -> bytes:
        self.gets[loc.key] += 1
        return super().get_bytes(loc, byte_range)


def _context(dest: str, store: S3Store, run_id: str = "run-shards") -> RunContext:
    return RunContext(Settings(source="s3://unused/in", dest=dest), DT, run_id, store=store)


_ITEM = ItemState(
    source=SourceObject(uri="s3://in/d/x.png", key="d/x.png", bytes=900, etag="e", sha256="0" * 64),
    fingerprint="f1e2d3c4b5a6",
    prepared=[PreparedChunk(index=0, start_s=0, duration_s=0, mime_type="image/jpeg", bytes=400)],
)
_FACTS = RequestFacts(
    source_uri="",
    chunk_index=0,
    model="gemini-3.8-flash",
    chunk_start_s=0,
    chunk_end_s=0,
    mime_type="image/jpeg",
    bytes=400,
)
_OUTCOME = RequestOutcome(key="", mode="batch", status="ok", text='{"summary": "x"}')


def _item(n: int) -> ItemState:
    """A small prepared item (copies of one validated template: 20,000 of them build in a blink)."""
    sha = hashlib.sha256(str(n).encode()).hexdigest()
    source = _ITEM.source.model_copy(
        update={"uri": f"s3://in/d/{n:06d}.png", "key": f"d/{n:06d}.png", "sha256": sha}
    )
    chunk = _ITEM.prepared[0].model_copy(update={"uri": f"s3://o/c/{sha}/c000.jpg"})
    return _ITEM.model_copy(update={"source": source, "prepared": [chunk]})


def _manifest(n: int) -> RunManifest:
    items = [_item(i) for i in range(n)]
    manifest = RunManifest(
        run_id="run-shards",
        dt=DT.isoformat(),
        started_at=datetime(2026, 11, 21, 2, tzinfo=UTC),
        model="gemini-3.8-flash",
        task="describe",
        task_version="v1",
        mode="batch",
        source="s3://unused/in",
        dest="s3://o/r",
        stages_done=["discover", "plan", "prepare"],
    )
    manifest.items = items
    for item in items:
        key = item.request_key(item.prepared[0])
        manifest.requests[key] = _FACTS.model_copy(
            update={"source_uri": item.source.uri, "chunk_uri": item.prepared[0].uri}
        )
        manifest.outcomes[key] = _OUTCOME.model_copy(update={"key": key})
    manifest.batches = [
        BatchSubmission(
            group="g1", job_name="batches/1", keys=list(manifest.requests), submitted_at=manifest.started_at
        )
    ]
    return manifest


def _state_objects(store: S3Store, ctx: RunContext) -> dict[str, int]:
    staging = ctx.layout.staging(ctx.run_id)
    return {obj["Key"]: obj["Size"] for obj in store.list(staging)}


def _same(a: RunManifest, b: RunManifest) -> None:
    assert a.model_dump(mode="json") == b.model_dump(mode="json")
    assert list(a.requests) == list(b.requests) and list(a.outcomes) == list(b.outcomes)


@pytest.fixture
def dest(buckets: tuple[str, str]) -> str:
    return buckets[1]


def test_a_large_run_is_written_in_small_parts_and_a_change_rewrites_one(dest: str) -> None:
    store = CountingStore()
    ctx = _context(dest, store)
    manifest = _manifest(ITEMS)
    ctx.save(manifest)

    objects = _state_objects(store, ctx)
    shards = ITEMS // ITEMS_PER_SHARD
    assert len(objects) == shards + 2  # the item shards, the batches part, the head
    assert max(objects.values()) <= LIMIT and ctx.largest_state_write == max(objects.values())
    assert sum(objects.values()) > 2 * LIMIT  # the whole run would not fit in one write
    head = json.loads(store.get_bytes(ctx.layout.manifest(ctx.run_id)))
    assert "items" not in head and "outcomes" not in head and len(head["state"]["shards"]) == shards

    # infer's timed save after one answer changed: one shard and the head, nothing else
    key = manifest.items[7_777].request_key(manifest.items[7_777].prepared[0])
    previous = manifest.outcomes[key]
    manifest.history.append(previous)
    manifest.outcomes[key] = previous.model_copy(update={"text": '{"summary": "y"}', "attempt": 2})
    store.puts.clear()
    ctx.save(manifest)
    head_key = ctx.layout.manifest(ctx.run_id).key
    shard_prefix = ctx.layout.state_parts(ctx.run_id).join("items", f"{7_777 // ITEMS_PER_SHARD:05d}-").key
    (written,) = [k for k in store.puts if k != head_key]
    assert len(store.puts) == 2 and head_key in store.puts and written.startswith(shard_prefix)
    assert len(_state_objects(store, ctx)) == shards + 2  # the replaced shard is gone
    store.puts.clear()
    ctx.save(manifest)  # nothing changed: the head alone
    assert list(store.puts) == [head_key]

    # a mapped group reads only the shards that hold its range
    reader = CountingStore()
    got = _context(dest, reader).load_items(1_000, 1_600)
    assert [n for n, _ in got] == list(range(1_000, 1_600))
    assert got[0][1] == manifest.items[1_000]
    assert len([k for k in reader.gets if "/items/" in k]) == 3  # shards 4, 5 and 6 of 250

    shard = ItemShard.model_validate_json(store.get_bytes(S3Location(ctx.dest.bucket, written)))
    assert shard.outcomes[key].attempt == 2 and shard.history == [previous]
    assert shard.items == manifest.items[shard.first : shard.first + ITEMS_PER_SHARD]


def _earlier_version_doc(manifest: RunManifest) -> dict[str, Any]:
    """What the version before the parts wrote: the whole run in manifest.json."""
    doc: dict[str, Any] = json.loads(manifest.model_dump_json())
    return doc


def test_a_manifest_written_inline_loads_and_moves_to_parts(dest: str) -> None:
    store = CountingStore()
    ctx = _context(dest, store)
    manifest = _manifest(600)
    store.put_json(ctx.layout.manifest(ctx.run_id), _earlier_version_doc(manifest))

    loaded = ctx.load()
    _same(loaded, manifest)
    loaded.stages_done.append("infer")
    ctx.save(loaded)
    head = json.loads(store.get_bytes(ctx.layout.manifest(ctx.run_id)))
    assert "items" not in head and len(head["state"]["shards"]) == 3
    resumed = _context(dest, CountingStore()).load()
    _same(resumed, loaded)
    assert resumed.stages_done[-1] == "infer"


def test_a_save_killed_before_its_head_leaves_the_last_saved_state(dest: str) -> None:
    store = CountingStore()
    ctx = _context(dest, store)
    manifest = _manifest(700)
    ctx.save(manifest)
    saved = manifest.model_copy(deep=True)

    for item in manifest.items[:600]:  # three shards change
        item.reason = "changed"
    manifest.stages_done.append("infer")
    store.fail_on = "manifest.json"
    with pytest.raises(RuntimeError):
        ctx.save(manifest)
    store.fail_on = None
    assert len(_state_objects(store, ctx)) == 3 + 1 + 1 + 3  # the new shards were written, orphans

    retried = _context(dest, CountingStore())
    _same(retried.load(), saved)  # the head names only parts that exist: exactly the last save
    retried.save(manifest)  # the retried stage finishes and cleans what the killed one left
    assert len(_state_objects(store, retried)) == 3 + 1 + 1
    _same(_context(dest, CountingStore()).load(), manifest)


def test_every_request_stays_with_its_item_and_orphans_round_trip(dest: str) -> None:
    ctx = _context(dest, CountingStore())
    manifest = _manifest(ITEMS_PER_SHARD * 2)
    item = manifest.items[ITEMS_PER_SHARD + 3]
    key = item.request_key(item.prepared[0])
    reask = f"{key}-reask1"
    manifest.requests[reask] = manifest.requests[key].model_copy(update={"reask_of": key})
    manifest.outcomes[reask] = RequestOutcome(key=reask, mode="sync", status="ok")
    sound = f"{key}-sound"  # a key whose chunk is not prepared (any more): found by its source
    manifest.requests[sound] = manifest.requests[key].model_copy(update={"track": Track.SOUND})
    manifest.outcomes["unknown-key"] = RequestOutcome(key="unknown-key", mode="sync", status="error")
    manifest.quarantine = [
        QuarantineRow(source_uri="s3://in/elsewhere.txt", stage="discover", reason="text"),
        QuarantineRow(source_uri=item.source.uri, stage="validate", reason="schema"),
    ]
    ctx.save(manifest)

    shard = ctx.layout.item_shard(ctx.run_id, 1, ctx.state._refs.shards[1])  # type: ignore[union-attr]
    doc = json.loads(ctx.store.get_bytes(shard))
    assert {key, reask, sound} <= set(doc["requests"]) and {key, reask} <= set(doc["outcomes"])
    assert [q["reason"] for q in doc["quarantine"]] == ["schema"]
    _same(_context(dest, CountingStore()).load(), manifest)


def test_a_run_without_state_loads_as_a_new_manifest(dest: str) -> None:
    ctx = _context(dest, CountingStore(), run_id="run-none")
    assert ctx.load().items == [] and ctx.load_items(0, 10) == []


def test_a_timed_save_serialises_only_the_shards_of_the_answers_it_names(dest: str) -> None:
    store = CountingStore()
    ctx = _context(dest, store)
    manifest = _manifest(700)
    ctx.save(manifest)
    keys = [i.request_key(i.prepared[0]) for i in (manifest.items[10], manifest.items[620])]
    for key in keys:
        manifest.outcomes[key] = manifest.outcomes[key].model_copy(update={"status": "error", "attempt": 2})
    store.puts.clear()
    ctx.save(manifest, changed_keys=set(keys))
    assert len(store.puts) == 3  # shards 0 and 2, and the head
    _same(_context(dest, CountingStore()).load(), manifest)


def _long_video(n: int, chunks: int) -> ItemState:
    """A prepared source of `chunks` chunks (an hours-long video cut into 30 s pieces)."""
    item = _item(n)
    item.prepared = [
        item.prepared[0].model_copy(
            update={"index": c, "start_s": 30.0 * c, "uri": f"s3://o/c/{item.source.sha256}/c{c:04d}.mp4"}
        )
        for c in range(chunks)
    ]
    return item


def test_hours_long_videos_get_shards_of_their_own_and_every_write_stays_small(dest: str) -> None:
    # 600 small items with two 10-hour videos of 1,200 chunks among them; with a fixed 250 items a shard,
    # a shard holding both videos would be ~6 MB
    manifest = _manifest(600)
    for at in (300, 301):
        video = manifest.items[at] = _long_video(at, 1_200)
        for chunk in video.prepared:
            key = video.request_key(chunk)
            manifest.requests[key] = _FACTS.model_copy(
                update={"source_uri": video.source.uri, "chunk_index": chunk.index, "chunk_uri": chunk.uri}
            )
            manifest.outcomes[key] = _OUTCOME.model_copy(
                update={"key": key, "text": '{"summary": "' + "x" * 1200 + '"}'}
            )
    store = CountingStore()
    ctx = _context(dest, store, run_id="run-long-videos")
    ctx.save(manifest)

    head = json.loads(store.get_bytes(ctx.layout.manifest(ctx.run_id)))
    # 250 small ones (weight 1,000), 50 more up to the first video, each video alone, then 250 and 48
    assert head["state"]["firsts"] == [0, 250, 300, 301, 302, 552]
    objects = _state_objects(store, ctx)
    assert max(objects.values()) == ctx.largest_state_write <= 3 * 1024 * 1024, ctx.largest_state_write
    _same(_context(dest, CountingStore(), run_id="run-long-videos").load(), manifest)
    got = _context(dest, CountingStore(), run_id="run-long-videos").load_items(290, 310)
    assert [n for n, _ in got] == list(range(290, 310)) and got[11][1] == manifest.items[301]

    # the boundaries come from the plan, not the answers: a timed save after an answer changes
    # rewrites that video's shard and the head only
    key = next(iter(k for k in manifest.outcomes if k.startswith(manifest.items[301].source.sha256[:16])))
    manifest.outcomes[key] = manifest.outcomes[key].model_copy(update={"attempt": 2})
    store.puts.clear()
    ctx.save(manifest, changed_keys={key})
    shard_prefix = ctx.layout.state_parts(ctx.run_id).join("items", "00003-").key
    head_key = ctx.layout.manifest(ctx.run_id).key
    assert sorted(store.puts) == sorted([head_key, *[k for k in store.puts if k.startswith(shard_prefix)]])
    assert len(store.puts) == 2
