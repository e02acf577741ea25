"""Batch Mode of the emulator (OFFLINE TEST DOUBLE): job store and state machine.

A job is BATCH_STATE_PENDING for `pending_s` after creation, then BATCH_STATE_RUNNING; a worker thread
computes every answer exactly once while it runs, and the job turns BATCH_STATE_SUCCEEDED when both
`pending_s + running_s` have passed and the answers are ready. A request the API would reject becomes an
`{"error": google.rpc.Status, "metadata": ...}` entry; the job still succeeds. Jobs are served in the
long-running-operation shape the SDK's `_BatchJob_from_mldev` reads (`metadata.state`, `metadata.output
.inlinedResponses.inlinedResponses`); the SDK maps BATCH_STATE_* to JobState.JOB_STATE_*.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.catalog import transport_limits

from .generate import ApiError, Generated, bad_request, check_model, generate, normalise

PENDING, RUNNING, SUCCEEDED = "BATCH_STATE_PENDING", "BATCH_STATE_RUNNING", "BATCH_STATE_SUCCEEDED"
FAILED, CANCELLED, EXPIRED = "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED})
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class BatchJob:
    id: str
    model: str
    display_name: str
    requests: list[tuple[dict, dict | None]]
    created: float = field(default_factory=time.time)
    created_mono: float = field(default_factory=time.monotonic)
    cancelled_at: float | None = None
    finished_at: float | None = None
    results: list[dict] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        return f"batches/{self.id}"


class BatchStore:
    """Thread-safe store of batch jobs; `on_result` is called once per generated response (billing)."""

    def __init__(
        self,
        pending_s: float,
        running_s: float,
        on_result: Callable[[Generated], None] | None = None,
        on_create: Callable[[int], None] | None = None,
    ) -> None:
        self.pending_s, self.running_s = pending_s, running_s
        self._on_result, self._on_create = on_result, on_create
        self._jobs: dict[str, BatchJob] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._prefix = f"{int(time.time()) % 100000:05d}"

    # ------------------------------------------------------------ API operations

    def create(self, model: str, body: dict, *, version: str, raw_size: int) -> dict:
        name = check_model(model, version, "batchGenerateContent")
        batch = normalise(body).get("batch")
        if not isinstance(batch, dict):
            raise bad_request("* BatchGenerateContentRequest.batch: batch is not specified")
        src = batch.get("inputConfig") or {}
        if src.get("fileName"):
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"You do not have permission to access the File {src['fileName']} or it may not exist "
                "(the emulator does not serve the Files API).",
            )
        items = (src.get("requests") or {}).get("requests")
        if not isinstance(items, list) or not items:
            raise bad_request("* BatchGenerateContentRequest.batch.input_config: requests must not be empty")
        limit = transport_limits().batch_inline_total_max_bytes
        if raw_size > limit:
            raise bad_request(
                f"Request payload size exceeds the limit: {limit} bytes. Inline batch requests must total "
                "less than 20 MB; use a JSONL file through the Files API."
            )
        requests = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
                raise bad_request(
                    f"* BatchGenerateContentRequest.batch.input_config.requests[{i}].request: required"
                )
            requests.append((item["request"], item.get("metadata")))
        job_id = f"emu{self._prefix}{next(self._ids):06d}"
        job = BatchJob(job_id, name, str(batch.get("displayName") or job_id), requests)
        with self._lock:
            self._jobs[job_id] = job
        if self._on_create:
            self._on_create(len(requests))
        threading.Thread(target=self._work, args=(job, version), name=f"emu-{job_id}", daemon=True).start()
        return self.render(job)

    def get(self, job_id: str) -> dict:
        return self.render(self._job(job_id))

    def cancel(self, job_id: str) -> dict:
        job = self._job(job_id)
        with job.lock:
            if self.state(job) not in TERMINAL:
                job.cancelled_at = time.time()
                job.cancel_event.set()
        return {}

    def delete(self, job_id: str) -> dict:
        job = self._job(job_id)
        job.cancel_event.set()
        with self._lock:
            self._jobs.pop(job_id, None)
        return {}

    def list(self, page_size: int = 50, page_token: str | None = None) -> dict:
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)
        start = int(page_token) if page_token and page_token.isdigit() else 0
        page_size = max(1, min(int(page_size or 50), 1000))
        out: dict = {"operations": [self.render(j) for j in jobs[start : start + page_size]]}
        if start + page_size < len(jobs):
            out["nextPageToken"] = str(start + page_size)
        return out

    def resume(self) -> None:
        self._stop.clear()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            for job in self._jobs.values():
                job.cancel_event.set()

    # ------------------------------------------------------------ state machine

    def _job(self, job_id: str) -> BatchJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", f"Batch batches/{job_id} not found.")
        return job

    def state(self, job: BatchJob) -> str:
        if job.cancelled_at is not None:
            return CANCELLED
        elapsed = time.monotonic() - job.created_mono
        if elapsed < self.pending_s:
            return PENDING
        if elapsed < self.pending_s + self.running_s or job.results is None:
            return RUNNING
        if job.finished_at is None:
            job.finished_at = job.created + self.pending_s + self.running_s
        return SUCCEEDED

    def _work(self, job: BatchJob, version: str) -> None:
        """Wait out PENDING, then compute every answer once (cancellable between requests)."""
        if job.cancel_event.wait(self.pending_s) or self._stop.is_set():
            return
        results = []
        for request, metadata in job.requests:
            if job.cancel_event.is_set() or self._stop.is_set():
                return
            entry: dict = {}
            try:
                gen = generate(job.model, normalise(request), version=version)
                entry["response"] = gen.response
                if self._on_result:
                    self._on_result(gen)
            except ApiError as exc:
                entry["error"] = exc.rpc_status()
            except Exception as exc:  # an emulator bug must not hang the job
                entry["error"] = {"code": 13, "message": f"emulator internal error: {exc!r}"}
            if metadata is not None:
                entry["metadata"] = metadata
            results.append(entry)
        with job.lock:
            if job.cancelled_at is None:
                job.results = results

    def render(self, job: BatchJob) -> dict:
        with job.lock:
            state = self.state(job)
            results = job.results if state == SUCCEEDED else None
        n = len(job.requests)
        failed = sum(1 for r in results if "error" in r) if results is not None else 0
        stats = {"requestCount": str(n)}
        if results is not None:
            stats |= {"successfulRequestCount": str(n - failed), "failedRequestCount": str(failed)}
        else:
            stats["pendingRequestCount"] = str(n)
        end = job.cancelled_at if state == CANCELLED else job.finished_at
        meta: dict = {
            "@type": BATCH_TYPE,
            "model": f"models/{job.model}",
            "displayName": job.display_name,
            "name": job.name,
            "state": state,
            "createTime": _ts(job.created),
            "updateTime": _ts(end or time.time()),
            "batchStats": stats,
        }
        if end is not None:
            meta["endTime"] = _ts(end)
        if results is not None:
            meta["output"] = {"inlinedResponses": {"inlinedResponses": results}}
        return {"name": job.name, "metadata": meta, "done": state in TERMINAL}
