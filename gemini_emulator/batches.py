"""Batch Mode of the emulator (OFFLINE TEST DOUBLE): job store and state machine.

A job is BATCH_STATE_PENDING for `pending_s` after creation, then BATCH_STATE_RUNNING; a worker thread
computes every answer exactly once while it runs, and the job turns terminal when both `pending_s +
running_s` have passed and the answers are ready: BATCH_STATE_SUCCEEDED, or the state the `batch_state`
fault forces (FAILED / EXPIRED / CANCELLED: no output, an LRO `error` with the reason). A request the API
would reject becomes an `{"error": google.rpc.Status, "metadata": ...}` entry; the job still succeeds.
The job keeps the model id it was created with; each item is answered by the model serving that id
when the item runs (lifecycle.py), so its `modelVersion` shows any routing.

Sources: inline requests (`inputConfig.requests.requests[].request` + `metadata`) or a JSONL file
(`inputConfig.fileName`, lines `{"key": ..., "request": {...}}`). Output: `inlinedResponses.
inlinedResponses` for inline jobs, `{"responsesFile": "files/<id>"}` for file jobs, a GENERATED JSONL file
of `{"key": ..., "response": {...}}` / `{"key": ..., "error": {...}}` lines (SDK: `job.dest.file_name`).
Jobs are served in the long-running-operation shape the SDK's `_BatchJob_from_mldev` reads.

Caps (as the service's): a create is answered 429 RESOURCE_EXHAUSTED when the project already holds
`max_jobs` unfinished jobs (default: the catalog's batch_max_jobs_in_flight) or when the model's
unfinished jobs plus this one would hold more than `enqueued_tokens` input tokens (counted as countTokens
counts them; None: no cap). Inline requests over 20 MB in total and JSONL files over 2 GB are refused 400.
`cap_usage()` reports the peaks seen, the refused creates and how often each request key was submitted.
The `batch_expire` fault ends the first N jobs EXPIRED after answering part of their requests.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.catalog import transport_limits

from .faults import FaultInjector, apply_content_fault
from .files import FileStore
from .generate import ApiError, Generated, Resources, bad_request, count_tokens, generate, normalise
from .wire import Json, exhausted
from .wire import ts as _ts

PENDING, RUNNING, SUCCEEDED = "BATCH_STATE_PENDING", "BATCH_STATE_RUNNING", "BATCH_STATE_SUCCEEDED"
FAILED, CANCELLED, EXPIRED = "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, EXPIRED})
FORCED_ERRORS = {
    FAILED: {"code": 13, "message": "Batch job failed: internal error. [emulator fault batch_state=FAILED]"},
    EXPIRED: {
        "code": 4,
        "message": "Batch job expired: it was pending or running for more than 48 hours. "
        "[emulator fault batch_state=EXPIRED]",
    },
    CANCELLED: {"code": 1, "message": "Batch job was cancelled. [emulator fault batch_state=CANCELLED]"},
}
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"


@dataclass
class BatchJob:
    id: str
    model: str
    display_name: str
    requests: list[tuple[Json, Json | None]]
    source_file: str | None = None
    output_file: str | None = None
    created: float = field(default_factory=time.time)
    created_mono: float = field(default_factory=time.monotonic)
    cancelled_at: float | None = None
    finished_at: float | None = None
    results: list[Json] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    final_state: str = SUCCEEDED
    tokens: int = 0  # input tokens enqueued while it is unfinished (counted only under a token cap)
    answer_limit: int | None = None  # an expiring job answers this many requests first

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
        on_create: Callable[[str, int], None] | None = None,
        *,
        files: FileStore | None = None,
        res: Resources | None = None,
        faults: FaultInjector | None = None,
        on_fault: Callable[[str], None] | None = None,
        enqueued_tokens: int | None = None,
        max_jobs: int | None = None,
    ) -> None:
        self.pending_s, self.running_s = pending_s, running_s
        self._on_result, self._on_create = on_result, on_create
        self.files, self.res, self.faults, self.on_fault = files, res, faults, on_fault
        self.final_state = f"BATCH_STATE_{faults.spec.batch_state}" if faults else SUCCEEDED
        self._jobs: dict[str, BatchJob] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._prefix = f"{int(time.time()) % 100000:05d}"
        self.enqueued_tokens = enqueued_tokens
        self.max_jobs = max_jobs or transport_limits().batch_max_jobs_in_flight
        self._reset_caps()

    def _reset_caps(self) -> None:
        self._expire_left = self.faults.spec.batch_expire if self.faults else 0
        self.peak_in_flight = 0
        self.peak_enqueued: dict[str, int] = {}
        self.refused = 0
        self.submitted_keys: Counter[str] = Counter()

    def expire_next(self, jobs: int) -> None:
        """The next `jobs` jobs created end EXPIRED (the batch_expire fault)."""
        with self._lock:
            self._expire_left = jobs

    def cap_usage(self) -> Json:
        with self._lock:
            return {
                "max_jobs": self.max_jobs,
                "enqueued_tokens_cap": self.enqueued_tokens,
                "peak_jobs_in_flight": self.peak_in_flight,
                "peak_enqueued_tokens": dict(self.peak_enqueued),
                "refused_creates": self.refused,
                "submitted_keys": dict(self.submitted_keys),
            }

    def _count(self, model: str, requests: list[tuple[Json, Json | None]], version: str) -> int:
        total = 0
        for request, _metadata in requests:
            try:
                total += int(count_tokens(model, request, version=version, res=self.res)["totalTokens"])
            except Exception:  # noqa: BLE001 - a request the service would refuse enqueues nothing
                continue
        return total

    def _admit(self, job: BatchJob) -> None:
        """Hold the job unless a cap refuses it (429, as the service answers); under self._lock."""
        flying = [j for j in self._jobs.values() if self.state(j) not in TERMINAL]
        if len(flying) >= self.max_jobs:
            self.refused += 1
            raise exhausted(
                f"Resource has been exhausted: the project already has {len(flying)} unfinished batch "
                f"jobs, the most allowed (emulator batch_max_jobs). Retry when one has finished.",
                60.0,
                "BatchJobsInFlightPerProject",
                job.model,
                self.max_jobs,
            )
        enqueued = sum(j.tokens for j in flying if j.model == job.model)
        cap = self.enqueued_tokens
        if cap is not None and enqueued + job.tokens > cap:
            self.refused += 1
            raise exhausted(
                f"Resource has been exhausted: enqueued tokens for batch jobs of model {job.model} would be "
                f"{enqueued + job.tokens}, over the limit of {cap} (emulator batch_enqueued_tokens). "
                "Retry when a job has finished.",
                60.0,
                "BatchEnqueuedTokensPerModelPerProject",
                job.model,
                cap,
            )
        if self._expire_left > 0 and self.faults is not None:
            self._expire_left -= 1
            job.final_state = EXPIRED
            job.answer_limit = int(len(job.requests) * self.faults.spec.batch_expire_answered)
        self._jobs[job.id] = job
        self.peak_in_flight = max(self.peak_in_flight, len(flying) + 1)
        self.peak_enqueued[job.model] = max(self.peak_enqueued.get(job.model, 0), enqueued + job.tokens)
        self.submitted_keys.update(str((m or {}).get("key")) for _r, m in job.requests)

    # ------------------------------------------------------------ API operations

    def create(self, model: str, body: Json, *, version: str, raw_size: int) -> Json:
        name = (self.res or Resources()).models.serve(model, version, "batchGenerateContent").requested
        batch = normalise(body).get("batch")
        if not isinstance(batch, dict):
            raise bad_request("* BatchGenerateContentRequest.batch: batch is not specified")
        src = batch.get("inputConfig") or {}
        if src.get("fileName"):
            requests = self._jsonl_requests(str(src["fileName"]))
        else:
            requests = self._inline_requests(src, raw_size)
        job_id = f"emu{self._prefix}{next(self._ids):06d}"
        job = BatchJob(job_id, name, str(batch.get("displayName") or job_id), requests, src.get("fileName"))
        job.final_state = self.final_state  # fixed at creation: a job's fate never changes afterwards
        job.tokens = self._count(name, requests, version) if self.enqueued_tokens is not None else 0
        with self._lock:
            self._admit(job)
        if self._on_create:
            self._on_create(job.name, len(requests))
        threading.Thread(target=self._work, args=(job, version), name=f"emu-{job_id}", daemon=True).start()
        return self.render(job)

    @staticmethod
    def _inline_requests(src: Json, raw_size: int) -> list[tuple[Json, Json | None]]:
        items = (src.get("requests") or {}).get("requests")
        if not isinstance(items, list) or not items:
            raise bad_request("* BatchGenerateContentRequest.batch.input_config: requests must not be empty")
        limit = transport_limits().batch_inline_total_max_bytes
        if raw_size > limit:
            raise bad_request(
                f"Request payload size exceeds the limit: {limit} bytes. Inline batch requests must total "
                f"less than {limit / 2**20:g} MB; use a JSONL file through the Files API."
            )
        requests = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
                raise bad_request(
                    f"* BatchGenerateContentRequest.batch.input_config.requests[{i}].request: required"
                )
            requests.append((item["request"], item.get("metadata")))
        return requests

    def _jsonl_requests(self, file_name: str) -> list[tuple[Json, Json | None]]:
        if self.files is None:
            raise ApiError(
                403, "PERMISSION_DENIED", f"You do not have permission to access the File {file_name}."
            )
        data, _mime = self.files.lookup(file_name)
        limit = transport_limits().batch_jsonl_max_bytes
        if len(data) > limit:
            raise bad_request(f"The batch input file {file_name} is over the limit of {limit} bytes.")
        requests: list[tuple[Json, Json | None]] = []
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise bad_request(f"Invalid JSONL in {file_name} at line {n}: {exc}") from None
            if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
                raise bad_request(f'Invalid JSONL in {file_name} at line {n}: expected {{"key", "request"}}')
            requests.append((item["request"], {"key": item["key"]} if "key" in item else None))
        if not requests:
            raise bad_request(f"The batch input file {file_name} has no requests.")
        return requests

    def get(self, job_id: str) -> Json:
        return self.render(self._job(job_id))

    def cancel(self, job_id: str) -> Json:
        job = self._job(job_id)
        with job.lock:
            if self.state(job) not in TERMINAL:
                job.cancelled_at = time.time()
                job.cancel_event.set()
        return {}

    def delete(self, job_id: str) -> Json:
        job = self._job(job_id)
        job.cancel_event.set()
        with self._lock:
            self._jobs.pop(job_id, None)
        return {}

    def list(self, page_size: int = 50, page_token: str | None = None) -> Json:
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)
        start = int(page_token) if page_token and page_token.isdigit() else 0
        page_size = max(1, min(int(page_size or 50), 1000))
        out: Json = {"operations": [self.render(j) for j in jobs[start : start + page_size]]}
        if start + page_size < len(jobs):
            out["nextPageToken"] = str(start + page_size)
        return out

    def clear(self) -> None:
        self.stop()
        with self._lock:
            self._jobs.clear()
            self._reset_caps()
        self._stop.clear()

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
        return job.final_state

    def _work(self, job: BatchJob, version: str) -> None:
        """Wait out PENDING, then compute every answer once (cancellable between requests)."""
        if job.cancel_event.wait(self.pending_s) or self._stop.is_set():
            return
        if job.final_state != SUCCEEDED and job.answer_limit is None:  # computes (and bills) nothing
            with job.lock:
                job.results = []
            return
        results = []
        for request, metadata in job.requests[: job.answer_limit]:
            if job.cancel_event.is_set() or self._stop.is_set():
                return
            entry = self._answer(job, request, version)
            if metadata is not None:
                entry["metadata"] = metadata
            results.append(entry)
        output_file = self._write_results(job, results, version) if job.source_file else None
        with job.lock:
            if job.cancelled_at is None:
                job.results, job.output_file = results, output_file

    def _answer(self, job: BatchJob, request: Json, version: str) -> Json:
        if self.faults is not None and self.faults.item_error():
            self._fault("batch_item_error")
            return {
                "error": {
                    "code": 13,
                    "message": "Internal error encountered. [emulator fault batch_item_error]",
                }
            }
        try:
            gen = generate(job.model, normalise(request), version=version, res=self.res)
            kind = self.faults.content_fault() if self.faults is not None else None
            if kind and apply_content_fault(kind, gen):  # no continuation store: batch has no continuation
                self._fault(kind)
            if self._on_result:
                self._on_result(gen)
            return {"response": gen.response}
        except ApiError as exc:
            return {"error": exc.rpc_status()}
        except Exception as exc:  # an emulator bug must not hang the job
            return {"error": {"code": 13, "message": f"emulator internal error: {exc!r}"}}

    def _fault(self, kind: str) -> None:
        if self.on_fault:
            self.on_fault(kind)

    # Sequence, not list: inside this class `list` names the listing method
    def _write_results(self, job: BatchJob, results: Sequence[Json], version: str) -> str | None:
        if self.files is None:
            return None
        lines = []
        for entry in results:
            line = {k: v for k, v in entry.items() if k != "metadata"}
            key = (entry.get("metadata") or {}).get("key")
            lines.append(json.dumps({"key": key, **line} if key is not None else line))
        data = ("\n".join(lines) + "\n").encode()
        return self.files.add_generated(data, "application/jsonl", f"{job.name} results", version).name

    def render(self, job: BatchJob) -> Json:
        with job.lock:
            state = self.state(job)
            partial = state == EXPIRED and job.answer_limit is not None
            results = job.results if state == SUCCEEDED or partial else None
            output_file = job.output_file
        n = len(job.requests)
        failed = sum(1 for r in results if "error" in r) if results is not None else 0
        stats = {"requestCount": str(n)}
        if results is not None:
            stats |= {"successfulRequestCount": str(n - failed), "failedRequestCount": str(failed)}
        elif state not in TERMINAL:
            stats["pendingRequestCount"] = str(n)
        end = job.cancelled_at if job.cancelled_at is not None else job.finished_at
        meta: Json = {
            "@type": BATCH_TYPE,
            "model": f"models/{job.model}",
            "displayName": job.display_name,
            "name": job.name,
            "state": state,
            "createTime": _ts(job.created),
            "updateTime": _ts(end or time.time()),
            "batchStats": stats,
        }
        if job.source_file:
            meta["inputConfig"] = {"fileName": job.source_file}
        if end is not None:
            meta["endTime"] = _ts(end)
        if results is not None:
            if job.source_file:
                meta["output"] = {"responsesFile": output_file}
            else:
                meta["output"] = {"inlinedResponses": {"inlinedResponses": results}}
        out: Json = {"name": job.name, "metadata": meta, "done": state in TERMINAL}
        if state in TERMINAL and state != SUCCEEDED and job.cancelled_at is None:
            out["error"] = FORCED_ERRORS[state]
        return out
