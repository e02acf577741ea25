"""Per-item work of a stage (probe + plan, prepare) on every core: a process pool sized to the machine.

The work is a module-level function `work(ctx, item)` that changes `item` in place, so it pickles by
name; each worker process builds its own RunContext once (settings, date, run id, the run's scratch
directory, an S3 client of its own from the parent's S3 connection). A worker sends back the changed
item, or, when the work raised, the error itself rebuilt by class in the parent: a `MediaError` is
already a failed item inside the work (a bad file is a quarantine row), a `TransientError` stays
transient (the run retries), anything else fails the run as it would in one process.

Items come back as they finish, so progress bars advance while the pool works. With one worker, one
item, or a store wrapping a client made elsewhere (Airflow's S3Hook, whose credentials the workers
cannot rebuild), the work runs inline, in this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from importlib import import_module
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.errors import PipelineError, TransientError
from pipeline.run.context import RunContext
from pipeline.run.state import ItemState
from pipeline.storage import S3Store
from pipeline.storage.connection import S3Connection

log = logging.getLogger("pipeline.run")

ItemWork = Callable[[RunContext, ItemState], None]

# The forkserver imports these once; each worker is then a cheap fork of it (no re-import per worker,
# and no fork of a parent whose threads -- S3 servers, progress bars -- may hold locks).
_PRELOAD = ["pipeline.plan.stage", "pipeline.prepare.stage", "pipeline.run.pool"]


def machine_workers() -> int:
    """Processes for per-item work: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class WorkerRun:
    """What a worker needs to rebuild the run's context (picklable)."""

    settings: Settings
    dt: date
    run_id: str
    scratch: str
    s3: S3Connection
    environ: dict[str, str]


@dataclass(frozen=True)
class WorkerFailure:
    """An exception raised in a worker, as data: rebuilt in the parent by its class."""

    module: str
    qualname: str
    message: str
    attrs: dict[str, Any]
    trace: str

    @classmethod
    def of(cls, exc: BaseException) -> WorkerFailure:
        attrs = {k: v for k, v in vars(exc).items() if _plain(v)}
        return cls(
            type(exc).__module__,
            type(exc).__qualname__,
            str(exc),
            attrs,
            "".join(traceback.format_exception(exc)),
        )

    def rebuild(self) -> BaseException:
        """The same error class for the project's errors (so TransientError stays transient); a
        RuntimeError carrying the worker's traceback for anything else."""
        try:
            kind = getattr(import_module(self.module), self.qualname)
        except (ImportError, AttributeError):
            kind = None
        if isinstance(kind, type) and issubclass(kind, PipelineError):
            exc = kind.__new__(kind)
            exc.args = (self.message,)
            vars(exc).update(self.attrs)
            return exc
        return RuntimeError(f"a worker process raised {self.qualname}: {self.message}\n{self.trace}")


def _plain(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool | tuple | list | dict)


_WORKER_CTX: RunContext | None = None


def _init_worker(run: WorkerRun) -> None:
    global _WORKER_CTX
    # The environment the run started with (PATH finds the same ffmpeg, the same AWS settings), not
    # the one the forkserver was started with.
    os.environ.clear()
    os.environ.update(run.environ)
    _WORKER_CTX = RunContext(
        run.settings, run.dt, run.run_id, store=S3Store(connection=run.s3), scratch=Path(run.scratch)
    )


def _run_one(work: ItemWork, index: int, item: ItemState) -> tuple[int, ItemState | WorkerFailure]:
    assert _WORKER_CTX is not None, "worker started without _init_worker"
    try:
        work(_WORKER_CTX, item)
    except Exception as exc:  # noqa: BLE001 - sent back as data and re-raised by class in the parent
        return index, WorkerFailure.of(exc)
    return index, item


class ItemPool:
    """A process pool for one run; `map` runs a stage's per-item work on it. Close it (or use it as a
    context manager) when the run ends."""

    def __init__(self, ctx: RunContext, workers: int | None = None) -> None:
        self.ctx = ctx
        wanted = workers if workers is not None else (ctx.settings.workers or machine_workers())
        connection = _connection_of(ctx.store) if wanted > 1 else None
        self.workers = max(1, wanted) if connection is not None else 1
        self._connection = connection
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> ItemPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            assert self._connection is not None and self.ctx.scratch is not None
            mp = multiprocessing.get_context("forkserver")
            mp.set_forkserver_preload(_PRELOAD)
            run = WorkerRun(
                self.ctx.settings,
                self.ctx.dt,
                self.ctx.run_id,
                str(self.ctx.scratch),
                self._connection,
                dict(os.environ),
            )
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=mp, initializer=_init_worker, initargs=(run,)
            )
        return self._executor

    def map(self, work: ItemWork, items: Sequence[tuple[int, ItemState]]) -> Iterator[tuple[int, ItemState]]:
        """`work` on every (index, item); yields (index, changed item) as each finishes. Raises the
        first error a work raised (by class), after the work already started has finished."""
        if self.workers == 1 or len(items) <= 1:
            for index, item in items:
                work(self.ctx, item)
                yield index, item
            return
        pool = self._pool()
        # Bounded submission: a 100,000-item night keeps a few items per worker in flight, not all.
        pending: set[Future[tuple[int, ItemState | WorkerFailure]]] = set()
        queue = iter(items)
        failure: BaseException | None = None
        try:
            while True:
                while failure is None and len(pending) < self.workers * 4:
                    nxt = next(queue, None)
                    if nxt is None:
                        break
                    pending.add(pool.submit(_run_one, work, nxt[0], nxt[1]))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index, result = future.result()
                    if isinstance(result, WorkerFailure):
                        failure = failure or result.rebuild()
                        continue
                    yield index, result
        except BrokenProcessPool as exc:
            self.close()
            raise TransientError(
                "a worker process died (out of memory, or killed) while the run prepared its items; "
                "retry the run, with fewer workers (setting `workers`) if it happens again"
            ) from exc
        if failure is not None:
            raise failure


def _connection_of(store: S3Store) -> S3Connection | None:
    """The connection a worker can rebuild the store from; None for a store around a client made
    elsewhere."""
    if getattr(store, "_client", None) is not None and getattr(store, "_connection", None) is None:
        return None
    return store.connection
