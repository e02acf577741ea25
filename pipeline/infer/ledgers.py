"""The batch submission ledger: one record per group of requests, keyed by the fingerprint of their
request keys (content hash + settings), in `<dest>/_ledger/batches/`. Any run, retry or rerun that would
send the same requests finds the job already paid for and re-attaches to it.

Creating a job is not idempotent, so an *intent* record (with the job's deterministic display name) is
written before `create`; a crash between the two is healed by finding that display name in
`batches.list`.

Overlapping runs of one date (a scheduled and a manual run, two backfills started together) compute the
same groups, so they meet at the same record, and S3 decides between them (`BatchLedger.claim`):
- the intent is created with `If-None-Match: *`: one run wins and creates the job; the other re-reads;
- a run that finds a record with a job that can still deliver re-attaches to it (it pays nothing);
- a run that finds another run's intent with no job yet waits, polling the record every
  `INTENT_POLL_S` with a progress note now and then, until the job name appears (then re-attaches);
- an intent older than `INTENT_STALE_S` with no job, whose display name `batches.list` does not know, was
  abandoned by a crashed run: it is taken over with `If-Match` on the ETag read, so of two runs that
  both find it abandoned only one takes it over (the same for replacing a job that ended FAILED/EXPIRED).
  The wait is bounded by that age; an intent of this same run (an earlier try of the task) is taken over
  at once.

The request ledger's claims do the same for sync requests (see `RequestLedger`)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
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


# An intent with no job this old was abandoned by a crashed run (a live run creates its job well within it).
INTENT_STALE_S = 900.0
INTENT_POLL_S = 1.0
WAIT_NOTE_EVERY_S = 30.0


class LedgerRecord(BaseModel):
    group: str
    run_id: str | None = None  # the run that wrote the intent
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

    def get_versioned(self, group: str) -> tuple[LedgerRecord | None, str | None]:
        doc, etag = self.store.get_json_versioned(self._loc(group))
        return (LedgerRecord.model_validate(doc) if doc else None), etag

    def write_if(self, record: LedgerRecord, etag: str | None) -> str | None:
        """Create (etag None: `If-None-Match`) or replace the version read (`If-Match`): the new ETag, or
        None when another run wrote the record first."""
        loc, doc = self._loc(record.group), record.model_dump(mode="json")
        if etag is None:
            return self.store.put_json_if_absent(loc, doc)
        return self.store.put_json_if_match(loc, doc, etag)

    def claim(
        self,
        client: GeminiClient,
        group: str,
        run_id: str,
        intent: Callable[[LedgerRecord | None], LedgerRecord],
        note: Callable[[str], None],
    ) -> tuple[LedgerRecord, str | None, str | None]:
        """(record, etag, job): `job` set means re-attach to it; None means this run won the intent
        (`record` at `etag`, written by `intent(previous)`) and must create the job."""
        waited_since = last_note = time.monotonic()
        while True:
            record, etag = self.get_versioned(group)
            if record is not None:
                job = self.reusable_job(client, record)
                if job is not None:
                    return record, etag, job
                age = (datetime.now(UTC) - record.created_at).total_seconds()
                live = record.job_name is None and record.run_id != run_id and age < INTENT_STALE_S
                if live:  # another run is creating this job right now: wait for its name
                    if time.monotonic() - last_note >= WAIT_NOTE_EVERY_S or last_note == waited_since:
                        note(
                            f"run {record.run_id} is creating batch job {record.display_name} for these "
                            f"requests; waiting for it ({time.monotonic() - waited_since:.0f}s so far, "
                            f"at most until its intent is {INTENT_STALE_S:.0f}s old)"
                        )
                        last_note = time.monotonic()
                    time.sleep(INTENT_POLL_S)
                    continue
            mine = intent(record)
            mine.run_id = run_id
            won = self.write_if(mine, etag)
            if won is not None:
                if record is not None and record.job_name is None:
                    note(f"took over batch intent {record.display_name}, abandoned by run {record.run_id}")
                return mine, won, None
            # another run wrote the record between our read and our write: read it again

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


# A sync claim this old belongs to a run that died: a sync answer takes seconds. Kept short because a
# run restarted after a crash waits this long for the requests the dead run had in flight; a live run
# whose request takes longer (retries with backoff) may see it sent a second time by an overlapping run.
CLAIM_STALE_S = 30.0
CLAIM_POLL_S = 1.0


class RequestLedger:
    """Sync answers already paid for, keyed by request key (content hash + settings fingerprint):
    `<dest>/_ledger/requests/<model>/<key>.json`. A run that crashed before commit and is started again
    (under any run id) takes these instead of asking again.

    Overlapping runs: before sending a request, a run claims it, one small object per request and
    attempt, `<dest>/_ledger/claims/<model>/<key>-<attempt>.json`, written with `If-None-Match: *`. The
    run that wins sends it; the other waits for the answer in this ledger (polling, at most
    `CLAIM_STALE_S`) and takes it; a claim older than that is taken over with `If-Match`. Chosen per
    request rather than per group of keys because two runs' pending sets differ (one already took
    answers the other paid for), so no grouping both runs compute the same way would exist; the cost is
    one extra conditional PUT per request sent (100,000 PUTs ~ $0.50 a night at S3's PUT price, done
    just before the Gemini call, which takes seconds), and for a loser one GET plus its polling GETs.
    Claims are left in place (tiny; expire them with a bucket lifecycle rule on `_ledger/claims/`)."""

    def __init__(self, store: S3Store, dest: S3Location, model: str) -> None:
        self.store = store
        self.root = S3Layout(dest).request_ledger(model)
        self.claims = S3Layout(dest).request_claims(model)

    def claim(self, key: str, attempt: int, run_id: str) -> bool:
        """Whether this run may send `key`'s attempt now (it won or took over the claim)."""
        loc = self.claims.join(f"{key}-{attempt}.json")
        mine = {"run_id": run_id, "claimed_at": datetime.now(UTC).isoformat()}
        if self.store.put_json_if_absent(loc, mine) is not None:
            return True
        doc, etag = self.store.get_json_versioned(loc)
        if doc is None or etag is None:  # deleted in between: try once more
            return self.store.put_json_if_absent(loc, mine) is not None
        if doc.get("run_id") == run_id:  # an earlier try of this same run
            return True
        age = (datetime.now(UTC) - datetime.fromisoformat(str(doc["claimed_at"]))).total_seconds()
        return age >= CLAIM_STALE_S and self.store.put_json_if_match(loc, mine, etag) is not None

    def wait(
        self, needed: dict[str, int], note: Callable[[str], None], timeout_s: float = CLAIM_STALE_S
    ) -> dict[str, RequestOutcome]:
        """The answers other runs are sending (key -> the attempt awaited), as they arrive in the ledger;
        what has not arrived within `timeout_s` is left out (its claim is stale by then)."""
        found: dict[str, RequestOutcome] = {}
        deadline, last_note = time.monotonic() + timeout_s, 0.0
        while len(found) < len(needed) and time.monotonic() < deadline:
            for key, attempt in needed.items():
                if key not in found and (outcome := self.get(key)) is not None and outcome.attempt >= attempt:
                    found[key] = outcome
            if len(found) < len(needed):
                if time.monotonic() - last_note >= WAIT_NOTE_EVERY_S:
                    note(f"waiting for {len(needed) - len(found)} answer(s) another run is receiving")
                    last_note = time.monotonic()
                time.sleep(CLAIM_POLL_S)
        return found

    def get(self, key: str) -> RequestOutcome | None:
        doc = self.store.get_json_or_none(self.root.join(f"{key}.json"))
        return RequestOutcome.from_dict(doc) if doc else None

    def put(self, outcome: RequestOutcome) -> None:
        self.store.put_json(self.root.join(f"{outcome.key}.json"), outcome.to_dict())
