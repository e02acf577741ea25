"""The run's state in parts, so a task reads and writes only what it needs and no write grows with the run.

    <staging>/manifest.json                          the head: every run-wide field, and the parts it is made of
    <staging>/state/items/<NNNNN>-<digest>.json      items [first_N, first_N+1), with the request facts,
                                                     latest outcomes and earlier attempts of their requests
                                                     and the quarantine rows of their sources
    <staging>/state/batches-<digest>.json            the batch jobs submitted (their keys grow with the run)

A part is named by the digest of its bytes and never rewritten: a save PUTs only the parts whose digest
is not in the head it replaces, then the head (the one write that switches the run to the new state), then
deletes the parts the new head no longer names. A stage killed before the head PUT leaves the previous
head and every part it names intact, so the run loads exactly as it was last saved and resumes; the
orphans it wrote are deleted by the next save. A shard holds at most 250 items and ends sooner where its
items' chunks would make it heavy (`cut_shards`; the head lists each shard's first item), so at 100,000
objects, or with hour-long many-chunk videos, each part stays at a few MB, and infer's timed save writes
the few parts whose outcomes changed, never the whole run.

A request's facts and outcomes live with the item that sends it (the source URI its facts name, else the
item whose prepared chunk it is: ItemState.request_key); a key no item claims goes to a shard chosen by
its hash. Each entry keeps its position in the run-wide dict or list, so a load gives back
the same order a save was given. A head an earlier version wrote (everything inline) still loads; the next
save moves it to parts.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from pipeline.run.state import (
    BatchSubmission,
    ItemState,
    QuarantineRow,
    RequestFacts,
    RequestOutcome,
    RunManifest,
)

STATE_LAYOUT = 2
ITEMS_PER_SHARD = 250  # about 1 MB of a prepared, answered night's state: a few hundred KB to a few MB
# A shard is also closed when its items' weight would pass this (see `item_weight`): 250 one-chunk items
# weigh 1,000, so a small night cuts by count; a 10-hour video of 1,200 chunks (about 3 MB of plan, chunks,
# facts and answers) weighs 3,601 and gets a shard of its own, which keeps every state write at a few MB.
WEIGHT_PER_SHARD = 1000
SHARDED_FIELDS = frozenset({"items", "outcomes", "history", "requests", "quarantine", "batches"})
DIGEST_CHARS = 16


class StateRefs(BaseModel):
    """What a head says the run's state is made of (the `state` field of manifest.json)."""

    layout: int = STATE_LAYOUT
    items_per_shard: int = ITEMS_PER_SHARD
    items: int = 0  # how many items the run has
    shards: list[str] = Field(default_factory=list)  # digest of item shard N, in order
    # index of shard N's first item (empty: a head written before shards were cut by weight, where
    # shard N starts at N * items_per_shard)
    firsts: list[int] = Field(default_factory=list)
    batches: str | None = None  # digest of the batches part (None: no batch submitted)

    def first_items(self) -> list[int]:
        return self.firsts or [n * self.items_per_shard for n in range(len(self.shards))]

    def shards_of(self, first: int, stop: int) -> range:
        """The item shards that hold items [first, stop)."""
        firsts = self.first_items()
        return range(max(0, bisect.bisect_right(firsts, first) - 1), bisect.bisect_left(firsts, stop))


class Positions(BaseModel):
    """Where each entry of a part stood in the run-wide dict or list (the order a load restores)."""

    requests: list[int] = Field(default_factory=list)
    outcomes: list[int] = Field(default_factory=list)
    history: list[int] = Field(default_factory=list)
    quarantine: list[int] = Field(default_factory=list)


class ItemShard(BaseModel):
    first: int  # index of the shard's first item in the run
    items: list[ItemState] = Field(default_factory=list)
    requests: dict[str, RequestFacts] = Field(default_factory=dict)
    outcomes: dict[str, RequestOutcome] = Field(default_factory=dict)
    history: list[RequestOutcome] = Field(default_factory=list)
    quarantine: list[QuarantineRow] = Field(default_factory=list)  # rows of the shard's items' sources
    positions: Positions = Field(default_factory=Positions)


class BatchesPart(BaseModel):
    batches: list[BatchSubmission] = Field(default_factory=list)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]


@dataclass
class SplitState:
    """A manifest cut into its parts, ready to be written. Shards are serialised one at a time, by
    whoever writes them (`shard_bytes`): a 100,000-item run never holds every part's bytes at once."""

    head: dict[str, Any]  # every run-wide field; its `state` is set by `head_with`
    shards: list[ItemShard]
    dirty: set[int] | None  # the shards to serialise (None: every one)
    batches: bytes | None
    size: int
    stored: StateRefs | None

    def shard_bytes(self, n: int) -> bytes | None:
        """Shard n as compact JSON; None when it is unchanged since `stored` (not even serialised)."""
        if self.dirty is not None and n not in self.dirty:
            return None
        return self.shards[n].model_dump_json().encode()

    def refs(self, digests: list[str | None]) -> StateRefs:
        """The refs of this state, given each shard's digest (None: unchanged, the stored one)."""
        return StateRefs(
            items_per_shard=self.size,
            items=sum(len(s.items) for s in self.shards),
            firsts=[s.first for s in self.shards],
            shards=[
                d if d is not None else self.stored.shards[n]  # type: ignore[union-attr]
                for n, d in enumerate(digests)
            ],
            batches=digest(self.batches) if self.batches is not None else None,
        )

    def head_with(self, refs: StateRefs) -> dict[str, Any]:
        return {**self.head, "state": refs.model_dump(mode="json")}


def _by_hash(name: str, shard_count: int) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % shard_count


def item_weight(item: ItemState) -> int:
    """What an item adds to its shard, in about 1.3 KB units: itself, and per chunk its planned and
    prepared entries, its request's facts and its answer. Counted from the plan, never from the answers,
    so shard boundaries stay put while infer records outcomes (its timed saves rewrite only the shards
    whose answers arrived)."""
    planned = len(item.plan.chunks) if item.plan is not None else 0
    return 1 + 3 * max(planned, len(item.prepared))


def cut_shards(
    items: list[ItemState], size: int = ITEMS_PER_SHARD, weight: int = WEIGHT_PER_SHARD
) -> list[int]:
    """The index of each shard's first item: a shard ends at `size` items or before the item that would
    take its weight past `weight` (an item heavier than that alone gets a shard of its own)."""
    firsts, count, held = [0], 0, 0
    for n, item in enumerate(items):
        w = item_weight(item)
        if count and (count >= size or held + w > weight):
            firsts.append(n)
            count, held = 0, 0
        count, held = count + 1, held + w
    return firsts


def _key_owners(manifest: RunManifest, by_uri: dict[str, int], shard_of: list[int]) -> dict[str, int]:
    """request key -> index of the shard that keeps its facts, outcome and earlier attempts: the shard of
    the item its facts name (a re-ask's facts name the item of the request it re-asks), else of the item
    whose prepared chunk it is, else one chosen by its hash. `shard_of[n]`: the shard of item n."""
    by_chunk: dict[str, int] | None = None  # built only when a key has no facts (rare)
    shard_count = max(shard_of, default=0) + 1

    def owner(key: str) -> int:
        nonlocal by_chunk
        fact = manifest.requests.get(key)
        if fact is not None and (n := by_uri.get(fact.source_uri)) is not None:
            return shard_of[n]
        if by_chunk is None:
            by_chunk = {i.request_key(c): n for n, i in enumerate(manifest.items) for c in i.prepared}
        if (n := by_chunk.get(key)) is not None:
            return shard_of[n]
        return _by_hash(key, shard_count)

    keys: Iterable[str] = (*manifest.requests, *manifest.outcomes, *(h.key for h in manifest.history))
    return {key: owner(key) for key in dict.fromkeys(keys)}


def split(
    manifest: RunManifest,
    size: int = ITEMS_PER_SHARD,
    *,
    changed_keys: Collection[str] | None = None,
    stored: StateRefs | None = None,
) -> SplitState:
    """Cut a manifest into its head, item shards and batches part (serialised, compact JSON).

    With `changed_keys` (the caller vouches that nothing but these requests' facts and outcomes changed
    since `stored` was saved from this manifest), only the shards holding them are serialised; the others
    keep their stored digest (and have no bytes to write). Serialising a 100,000-item run costs seconds:
    it happens shard by shard, as the parts are written (`SplitState.shard_bytes`)."""
    firsts = cut_shards(manifest.items, size)
    shard_count = len(firsts)
    if stored is None or stored.items != len(manifest.items) or stored.first_items() != firsts:
        changed_keys = None
    stops = [*firsts[1:], len(manifest.items)]
    shards = [ItemShard.model_construct(first=first) for first in firsts]
    shard_of: list[int] = []
    for n, (shard, stop) in enumerate(zip(shards, stops, strict=True)):
        shard.items = manifest.items[shard.first : stop]
        shard.requests, shard.outcomes, shard.history, shard.quarantine = {}, {}, [], []
        shard.positions = Positions()
        shard_of += [n] * len(shard.items)
    # source URI -> index of its item (the first, should a listing ever repeat one)
    by_uri = {item.source.uri: n for n, item in reversed(list(enumerate(manifest.items)))}
    owners = _key_owners(manifest, by_uri, shard_of)
    for position, (key, fact) in enumerate(manifest.requests.items()):
        shard = shards[owners[key]]
        shard.requests[key] = fact
        shard.positions.requests.append(position)
    for position, (key, outcome) in enumerate(manifest.outcomes.items()):
        shard = shards[owners[key]]
        shard.outcomes[key] = outcome
        shard.positions.outcomes.append(position)
    for position, earlier in enumerate(manifest.history):
        shard = shards[owners[earlier.key]]
        shard.history.append(earlier)
        shard.positions.history.append(position)
    for position, row in enumerate(manifest.quarantine):
        at = by_uri.get(row.source_uri)
        owner = shard_of[at] if at is not None else _by_hash(row.source_uri, shard_count)
        shards[owner].quarantine.append(row)
        shards[owner].positions.quarantine.append(position)
    dirty = None if changed_keys is None else {owners[k] for k in changed_keys if k in owners}
    batches = BatchesPart(batches=manifest.batches).model_dump_json().encode() if manifest.batches else None
    head = manifest.model_dump(mode="json", exclude=set(SHARDED_FIELDS))
    return SplitState(head=head, shards=shards, dirty=dirty, batches=batches, size=size, stored=stored)


def is_sharded(head: dict[str, Any]) -> bool:
    """Whether a manifest.json is a head of parts (else an earlier version's whole run, inline)."""
    return isinstance(head.get("state"), dict)


def refs_of(head: dict[str, Any]) -> StateRefs:
    return StateRefs.model_validate(head["state"])


def assemble(head: dict[str, Any], shards: Iterator[ItemShard], batches: BatchesPart | None) -> RunManifest:
    """The manifest a head and its parts make (the inverse of `split`)."""
    run_fields = {k: v for k, v in head.items() if k != "state" and k not in SHARDED_FIELDS}
    manifest = RunManifest.model_validate(run_fields)
    items: list[ItemState] = []
    requests: list[tuple[int, str, RequestFacts]] = []
    outcomes: list[tuple[int, str, RequestOutcome]] = []
    history: list[tuple[int, RequestOutcome]] = []
    quarantine: list[tuple[int, QuarantineRow]] = []
    for shard in sorted(shards, key=lambda s: s.first):
        items.extend(shard.items)
        p = shard.positions
        requests.extend(zip(p.requests, shard.requests, shard.requests.values(), strict=True))
        outcomes.extend(zip(p.outcomes, shard.outcomes, shard.outcomes.values(), strict=True))
        history.extend(zip(p.history, shard.history, strict=True))
        quarantine.extend(zip(p.quarantine, shard.quarantine, strict=True))
    manifest.items = items
    manifest.requests = {k: v for _, k, v in sorted(requests, key=lambda e: e[0])}
    manifest.outcomes = {k: v for _, k, v in sorted(outcomes, key=lambda e: e[0])}
    manifest.history = [h for _, h in sorted(history, key=lambda e: e[0])]
    manifest.quarantine = [q for _, q in sorted(quarantine, key=lambda e: e[0])]
    manifest.batches = batches.batches if batches is not None else []
    return manifest
