"""Everything a stage needs for one run: settings, date, run id, storage and where things live."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from pipeline.catalog import utc_today
from pipeline.config import Settings
from pipeline.run.state import ItemState, RunManifest
from pipeline.run.state_store import StateStore
from pipeline.storage import S3Layout, S3Location, S3Store
from pipeline.tasks import Task, get_task

log = logging.getLogger("pipeline.run")


class Progress(Protocol):
    """How long steps report progress: the CLI draws Rich bars, Airflow gets log lines."""

    def start(self, stage: str, total: int) -> None: ...
    def advance(self, stage: str, note: str = "") -> None: ...
    def note(self, message: str) -> None: ...


class LogProgress:
    def start(self, stage: str, total: int) -> None:
        log.info("stage=%s items=%d started", stage, total)

    def advance(self, stage: str, note: str = "") -> None:
        if note:
            log.info("stage=%s %s", stage, note)

    def note(self, message: str) -> None:
        log.info("%s", message)


def new_run_id(dt: date, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{dt:%Y%m%d}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


HOST_SCRATCH_PREFIX = "media-pipeline-host-"
# A run's directory on a host is useful between its plan and prepare tasks (hours): one no task of the run
# has touched for this long is removed when any task starts there. Longer than the longest task that
# works in it (2 h), so a live task never loses its files.
HOST_SCRATCH_KEPT_S = 24 * 3600


def host_scratch(settings: Settings, run_id: str, now: float | None = None) -> Path:
    """The run's scratch directory on this host, the same for every task of the run that runs here, so a
    source the plan task downloaded is prepared from the same copy (an orchestrator runs each stage in
    its own process). Directories of runs untouched for a day are swept first."""
    base = Path(settings.work_dir) if settings.work_dir else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    now = time.time() if now is None else now
    path = base / f"{HOST_SCRATCH_PREFIX}{run_id}"
    for old in base.glob(f"{HOST_SCRATCH_PREFIX}*"):
        try:
            stale = old != path and now - old.stat().st_mtime > HOST_SCRATCH_KEPT_S
        except OSError:  # another host's task swept it first
            continue
        if stale:
            log.info("removing the scratch of a run untouched for a day: %s", old)
            shutil.rmtree(old, ignore_errors=True)
    path.mkdir(exist_ok=True)
    os.utime(path)  # this run is alive here
    return path


def run_id_from(external_id: str) -> str:
    """A run id from an orchestrator's id (e.g. Airflow's run_id): stable, path-safe."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", external_id).strip("-")
    return cleaned[:80] or hashlib.sha256(external_id.encode()).hexdigest()[:16]


@dataclass
class RunContext:
    settings: Settings
    dt: date
    run_id: str
    store: S3Store = field(default_factory=S3Store)
    progress: Progress = field(default_factory=LogProgress)
    scratch: Path | None = None

    def __post_init__(self) -> None:
        self.task: Task = get_task(self.settings.task)
        self.source = S3Location.parse(self.settings.source)
        self.dest = S3Location.parse(self.settings.dest)
        self.layout = S3Layout(self.dest)
        self._state: StateStore | None = None
        self._own_scratch = self.scratch is None
        if self.scratch is None:
            base = Path(self.settings.work_dir) if self.settings.work_dir else None
            if base:
                base.mkdir(parents=True, exist_ok=True)
            self.scratch = Path(tempfile.mkdtemp(prefix=f"media-pipeline-{self.run_id}-", dir=base))

    def close(self) -> None:
        if self._own_scratch:
            self.remove_scratch()

    def remove_scratch(self) -> None:
        if self.scratch and self.scratch.exists():
            shutil.rmtree(self.scratch, ignore_errors=True)

    @property
    def today(self) -> date:
        """The day the run talks to the service (lifecycles, price windows): not the data date."""
        return utc_today()

    # where things live (pipeline.storage.S3Layout names every path) ------------------------------
    @property
    def manifest_loc(self) -> S3Location:
        return self.layout.manifest(self.run_id)

    def chunk_prefix(self, item: ItemState) -> S3Location:
        return self.layout.chunks(item.source.sha256, item.fingerprint)

    def answer_ledger(self, sha256: str) -> S3Location:
        """Answers are reused for the same content, task version, preparation version and models (a
        video's sound may have been asked of its own model)."""
        from pipeline.prepare import version as preparation

        models = self.settings.model
        audio_model = self.settings.prepare_settings(self.task).audio_model
        if audio_model and audio_model != models:
            models += f"+{audio_model}"
        version = f"{self.task.version}.prep{preparation.PREPARATION_VERSION}"
        return self.layout.answer_ledger(models, version, sha256)

    # manifest -----------------------------------------------------------------------------------
    def new_manifest(self) -> RunManifest:
        s = self.settings
        return RunManifest(
            run_id=self.run_id,
            dt=self.dt.isoformat(),
            started_at=datetime.now(UTC),
            model=s.model,
            task=self.task.name,
            task_version=self.task.version,
            mode=s.mode,
            source=s.source,
            dest=s.dest,
            budget_usd=Decimal(str(s.budget_usd)) if s.budget_usd is not None else None,
        )

    @property
    def state(self) -> StateStore:
        """The run's state in S3: a head and the parts it names (pipeline.run.shards)."""
        if self._state is None or self._state.store is not self.store:
            self._state = StateStore(self.store, self.layout, self.run_id)
        return self._state

    def load(self) -> RunManifest:
        """The whole run's state as last saved (a new manifest when there is none yet)."""
        return self.state.load() or self.new_manifest()

    def load_items(self, first: int, stop: int) -> list[tuple[int, ItemState]]:
        """Items [first, stop) with their indexes, read from only the parts that hold them (read only)."""
        return self.state.load_items(first, stop) or []

    def save(self, manifest: RunManifest, changed_keys: Collection[str] | None = None) -> None:
        """Write what changed since this context last read or wrote the state: the changed parts, then
        the head. `changed_keys`: the caller knows only these requests' outcomes changed since its last
        save of this manifest (infer's timed save), so only their shards are even serialised."""
        self.state.save(manifest, changed_keys)

    @property
    def largest_state_write(self) -> int:
        """Bytes of the largest single state object this context wrote (the benchmark's 5 MB check)."""
        return self.state.largest_write.bytes

    # local copies -------------------------------------------------------------------------------
    def _local_path(self, item: ItemState) -> Path:
        assert self.scratch is not None
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.source.key.rsplit("/", 1)[-1])[-80:]
        return (
            self.scratch / "sources" / f"{hashlib.sha256(item.source.uri.encode()).hexdigest()[:12]}-{name}"
        )

    def local_source(self, item: ItemState) -> tuple[Path, str]:
        """The item's bytes on local disk (downloaded once per scratch dir) and their sha256."""
        path = self._local_path(item)
        marker = path.with_suffix(path.suffix + ".sha256")
        if path.exists() and marker.exists() and path.stat().st_size == item.source.bytes:
            return path, marker.read_text()
        sha = self.store.download(S3Location.parse(item.source.uri), path)
        marker.write_text(sha)
        return path, sha

    def release_source(self, item: ItemState) -> None:
        """The item's local copy is not needed again this run (prepared, failed, or answered from the
        ledger): a night's sources never pile up on the worker's disk."""
        path = self._local_path(item)
        path.with_suffix(path.suffix + ".sha256").unlink(missing_ok=True)
        path.unlink(missing_ok=True)
