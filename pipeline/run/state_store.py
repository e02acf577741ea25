"""Reading and writing the run's state as a head and its parts (the layout: pipeline.run.shards).

One `StateStore` per RunContext: it remembers which parts the head it last read or wrote names, so a
save PUTs only parts that head does not already name (bounded threads), then the head, then deletes what
the new head no longer names. It also keeps the largest single write, for the benchmark."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pipeline.errors import ObjectNotFoundError
from pipeline.run.shards import (
    BatchesPart,
    ItemShard,
    StateRefs,
    assemble,
    digest,
    is_sharded,
    refs_of,
    split,
)
from pipeline.run.state import ItemState, RunManifest
from pipeline.storage import S3Layout, S3Location, S3Store

log = logging.getLogger("pipeline.run.state")

# boto3's connection pool holds 10 connections: stay under it.
STATE_IO_THREADS = 8
# A reader that finds a part gone read a head a save has just replaced: it reads the new head.
LOAD_ATTEMPTS = 3

T = TypeVar("T")
R = TypeVar("R")


def _parallel(work: Callable[[T], R], inputs: Sequence[T]) -> list[R]:
    if len(inputs) <= 1:
        return [work(i) for i in inputs]
    with ThreadPoolExecutor(max_workers=min(STATE_IO_THREADS, len(inputs))) as pool:
        return list(pool.map(work, inputs))


@dataclass
class StateWrite:
    bytes: int = 0
    key: str = ""


@dataclass
class StateStore:
    store: S3Store
    layout: S3Layout
    run_id: str
    # the parts the head this store last read or wrote names (None: not read yet)
    _refs: StateRefs | None = None
    _swept: bool = False
    largest_write: StateWrite = field(default_factory=StateWrite)
    writes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def head_loc(self) -> S3Location:
        return self.layout.manifest(self.run_id)

    # reading ------------------------------------------------------------------------------------------
    def _head(self) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = self.store.get_json_or_none(self.head_loc)
        return doc

    def _shard(self, refs: StateRefs, n: int) -> ItemShard:
        data = self.store.get_bytes(self.layout.item_shard(self.run_id, n, refs.shards[n]))
        return ItemShard.model_validate_json(data)

    def _batches(self, refs: StateRefs) -> BatchesPart | None:
        if refs.batches is None:
            return None
        data = self.store.get_bytes(self.layout.batches_part(self.run_id, refs.batches))
        return BatchesPart.model_validate_json(data)

    def load(self) -> RunManifest | None:
        """The run's state as last saved, or None when the run has none yet."""
        for attempt in range(1, LOAD_ATTEMPTS + 1):
            head = self._head()
            if head is None:
                self._refs = StateRefs()
                return None
            if not is_sharded(head):  # an earlier version's manifest, every item inline
                self._refs = StateRefs()
                return RunManifest.model_validate(head)
            refs = refs_of(head)
            try:
                shards = _parallel(functools.partial(self._shard, refs), range(len(refs.shards)))
                batches = self._batches(refs)
            except ObjectNotFoundError:
                if attempt == LOAD_ATTEMPTS:
                    raise
                log.info("state_reload run=%s reason=part_replaced attempt=%d", self.run_id, attempt)
                continue
            self._refs = refs
            return assemble(head, iter(shards), batches)
        raise AssertionError("unreachable")

    def load_items(self, first: int, stop: int) -> list[tuple[int, ItemState]] | None:
        """Items [first, stop) with their run indexes, reading only the shards that hold them (a
        mapped group task's view: read only, it saves nothing). None when the run has no state."""
        for attempt in range(1, LOAD_ATTEMPTS + 1):
            head = self._head()
            if head is None:
                return None
            if not is_sharded(head):
                manifest = RunManifest.model_validate(head)
                return list(enumerate(manifest.items))[first:stop]
            refs = refs_of(head)
            try:
                shards = _parallel(functools.partial(self._shard, refs), refs.shards_of(first, stop))
            except ObjectNotFoundError:
                if attempt == LOAD_ATTEMPTS:
                    raise
                continue
            return [
                (s.first + k, item)
                for s in shards
                for k, item in enumerate(s.items)
                if first <= s.first + k < stop
            ]
        raise AssertionError("unreachable")

    # writing ------------------------------------------------------------------------------------------
    def _put(self, loc: S3Location, data: bytes, content_type: str = "application/json") -> None:
        self.store.put_bytes(loc, data, content_type)
        with self._lock:  # parts are written from several threads
            self.writes += 1
            if len(data) > self.largest_write.bytes:
                self.largest_write = StateWrite(len(data), loc.key)
        log.debug("state_write bytes=%d key=%s", len(data), loc.key)

    def save(self, manifest: RunManifest, changed_keys: Collection[str] | None = None) -> None:
        """Write the manifest: the parts the current head does not name, then the head. `changed_keys`:
        only these requests changed since this store last saved this manifest (a timed save)."""
        if self._refs is None:  # saving a run this store has not read (discover starts it afresh)
            head = self._head()
            self._refs = refs_of(head) if head is not None and is_sharded(head) else StateRefs()
        before = self._refs
        parts = split(
            manifest, changed_keys=changed_keys, stored=before if changed_keys is not None else None
        )

        def write_shard(n: int) -> str | None:
            """Serialise shard n and PUT it unless the current head already names those bytes; its
            digest (None: unchanged, not serialised). One shard's bytes per thread at a time."""
            data = parts.shard_bytes(n)
            if data is None:
                return None
            d = digest(data)
            if n >= len(before.shards) or before.shards[n] != d:
                self._put(self.layout.item_shard(self.run_id, n, d), data)
            return d

        after = parts.refs(_parallel(write_shard, range(len(parts.shards))))
        if parts.batches is not None and after.batches != before.batches:
            assert after.batches is not None
            self._put(self.layout.batches_part(self.run_id, after.batches), parts.batches)
        # The head last: until it is written, the previous head and every part it names are the state.
        self._put(self.head_loc, json.dumps(parts.head_with(after), indent=1).encode())
        self._refs = after
        self._delete_unnamed(before, after)

    def _names(self, refs: StateRefs) -> set[str]:
        keys = {self.layout.item_shard(self.run_id, n, d).key for n, d in enumerate(refs.shards)}
        if refs.batches is not None:
            keys.add(self.layout.batches_part(self.run_id, refs.batches).key)
        return keys

    def _delete_unnamed(self, before: StateRefs, after: StateRefs) -> None:
        """Delete the parts the new head does not name: the replaced ones, and (once per store, with a
        listing) those a stage killed before its head PUT left behind."""
        keep = self._names(after)
        stale: Iterable[str] = self._names(before) - keep
        if not self._swept:
            listed = {obj["Key"] for obj in self.store.list(self.layout.state_parts(self.run_id))}
            stale = (set(stale) | listed) - keep
            self._swept = True
        if doomed := sorted(stale):
            self.store.delete_keys(self.layout.state_parts(self.run_id), doomed)
