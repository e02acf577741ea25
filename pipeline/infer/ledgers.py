"""The batch submission ledger: one record per group of requests, keyed by the fingerprint of their
request keys (content hash + settings), in `<dest>/_ledger/batches/`. Any run, retry or rerun that would
send the same requests finds the job already paid for and re-attaches to it.

Creating a job is not idempotent, so an *intent* record (with the job's deterministic display name) is
written before `create`; a crash between the two is healed by finding that display name in
`batches.list`."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from pipeline.gemini.client import GeminiClient
from pipeline.infer.batch import TERMINAL_FAILURES, state_name
from pipeline.run.state import RequestOutcome
from pipeline.storage import S3Layout, S3Location, S3Store


class EarlierJob(BaseModel):
    """A job of the group that ended without results (FAILED, CANCELLED, EXPIRED) when it was seen."""

    job_name: str
    state: str
    seen_at: datetime


class LedgerRecord(BaseModel):
    group: str
    display_name: str
    keys: list[str]
    transport: str
    job_name: str | None = None
    uploaded_files: list[str] = Field(default_factory=list)
    resubmissions: int = 0
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    history: list[EarlierJob] = Field(default_factory=list)  # earlier jobs of this group


def group_id(keys: list[str], model: str) -> str:
    return hashlib.sha256(("\n".join(sorted(keys)) + "\n" + model).encode()).hexdigest()[:20]


class BatchLedger:
    def __init__(self, store: S3Store, dest: S3Location) -> None:
        self.store = store
        self.root = S3Layout(dest).batch_ledger()

    def _loc(self, group: str) -> S3Location:
        return self.root.join(f"{group}.json")

    def get(self, group: str) -> LedgerRecord | None:
        doc = self.store.get_json_or_none(self._loc(group))
        return LedgerRecord.model_validate(doc) if doc else None

    def put(self, record: LedgerRecord) -> None:
        self.store.put_json(self._loc(record.group), record.model_dump(mode="json"))

    def reusable_job(self, client: GeminiClient, record: LedgerRecord) -> str | None:
        """The recorded job if it can still deliver results; None when a new job is needed."""
        name = record.job_name or find_by_display_name(client, record.display_name)
        if name is None:
            return None
        job = client.get_batch(name)
        state = state_name(job)
        if state in TERMINAL_FAILURES:
            record.history.append(EarlierJob(job_name=name, state=state, seen_at=datetime.now(UTC)))
            return None
        return name


def find_by_display_name(client: GeminiClient, display_name: str) -> str | None:
    for job in client.list_batches():
        if job.display_name == display_name:
            return job.name
    return None


class RequestLedger:
    """Sync answers already paid for, keyed by request key (content hash + settings fingerprint):
    `<dest>/_ledger/requests/<model>/<key>.json`. A run that crashed before commit and is started again
    (under any run id) takes these instead of asking again."""

    def __init__(self, store: S3Store, dest: S3Location, model: str) -> None:
        self.store = store
        self.root = S3Layout(dest).request_ledger(model)

    def get(self, key: str) -> RequestOutcome | None:
        doc = self.store.get_json_or_none(self.root.join(f"{key}.json"))
        return RequestOutcome.from_dict(doc) if doc else None

    def put(self, outcome: RequestOutcome) -> None:
        self.store.put_json(self.root.join(f"{outcome.key}.json"), outcome.to_dict())
