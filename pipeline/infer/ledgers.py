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
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from pipeline.errors import PipelineError, TransientError
from pipeline.gemini.client import GeminiClient
from pipeline.infer.batch import TERMINAL_FAILURES, state_name
from pipeline.run.state import RequestOutcome
from pipeline.storage import S3Layout, S3Location, S3Store

log = logging.getLogger("pipeline.infer")


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


# A sync claim not refreshed for this long belongs to a run that died (settings.sync_claim_stale_seconds
# is the run's value): a live run refreshes every claim it holds every third of it (ClaimKeeper), however
# long its request takes (retries with backoff included), so only a dead run's claims go stale. Kept
# short because a run restarted after a crash waits this long for the requests the dead run had in flight.
CLAIM_STALE_S = 30.0
CLAIM_POLL_S = 1.0
CLAIM_WAIT_S = 1800.0  # settings.sync_claim_wait_seconds is the run's value


class ClaimKeeper:
    """Keeps this run's sync claims fresh while their requests are in flight: a small thread rewrites each
    held claim every `stale_s / 3` with `If-Match` on the ETag this run last wrote (a new `refreshed_at`),
    so an overlapping run sees it live however long the request takes. A refresh that loses (another run
    judged the claim stale and took it over: this process was stalled longer than `stale_s`) drops it.
    Use it as a context manager; `release` a claim when its request's outcome has arrived."""

    def __init__(self, store: S3Store, stale_s: float) -> None:
        self.store = store
        self.interval_s = stale_s / 3
        self._held: dict[str, tuple[S3Location, dict[str, str], str]] = {}  # claim uri -> (loc, doc, etag)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0
        self.lost: list[str] = []

    def __enter__(self) -> ClaimKeeper:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def hold(self, loc: S3Location, doc: dict[str, str], etag: str) -> None:
        with self._lock:
            self._held[loc.uri] = (loc, doc, etag)
            if self._thread is None:
                self._thread = threading.Thread(target=self._refresh_loop, name="claim-keeper", daemon=True)
                self._thread.start()

    def release(self, loc: S3Location) -> None:
        with self._lock:
            self._held.pop(loc.uri, None)

    def held(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._held.clear()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.refresh()

    def refresh(self) -> None:
        """Rewrite every held claim once (the thread calls this every interval)."""
        with self._lock:
            held = list(self._held.values())
        for loc, doc, etag in held:
            fresh = {**doc, "refreshed_at": datetime.now(UTC).isoformat()}
            try:
                new_etag = self.store.put_json_if_match(loc, fresh, etag)
            except PipelineError as exc:  # S3 throttled or down for a moment: the next pass tries again
                log.warning(
                    "claim refresh of %s failed (%s); retrying in %.0f s", loc.uri, exc, self.interval_s
                )
                continue
            with self._lock:
                if loc.uri not in self._held:  # released while we wrote: nothing to keep
                    continue
                if new_etag is None:
                    self._held.pop(loc.uri)
                    self.lost.append(loc.uri)
                    log.warning(
                        "claim %s was taken over by another run: its request may be sent twice", loc.uri
                    )
                    continue
                self._held[loc.uri] = (loc, fresh, new_etag)
                self.refreshes += 1


def claim_age_s(doc: dict[str, object], now: datetime | None = None) -> float:
    """Seconds since the claim was written or last refreshed."""
    seen = str(doc.get("refreshed_at") or doc["claimed_at"])
    return ((now or datetime.now(UTC)) - datetime.fromisoformat(seen)).total_seconds()


class RequestLedger:
    """Sync answers already paid for, keyed by request key (content hash + settings fingerprint):
    `<dest>/_ledger/requests/<model>/<key>.json`. A run that crashed before commit and is started again
    (under any run id) takes these instead of asking again.

    Overlapping runs: before sending a request, a run claims it, one small object per request and
    attempt, `<dest>/_ledger/claims/<model>/<key>-<attempt>.json`, written with `If-None-Match: *`. The
    run that wins sends it, refreshing the claim while the request is in flight (`ClaimKeeper`); the
    other waits for the answer in this ledger (polling) as long as the claim stays fresh, and takes it; a
    claim not refreshed for `stale_s` is taken over with `If-Match`. Chosen per request rather than per
    group of keys because two runs' pending sets differ (one already took answers the other paid for),
    so no grouping both runs compute the same way would exist; the cost is one extra conditional PUT per
    request sent (100,000 PUTs ~ $0.50 a night at S3's PUT price, done just before the Gemini call, which
    takes seconds), one more per `stale_s / 3` of a request's flight, and for a loser one GET plus its
    polling GETs. Claims are left in place (tiny; expire them with a bucket lifecycle rule on
    `_ledger/claims/`)."""

    def __init__(
        self,
        store: S3Store,
        dest: S3Location,
        model: str,
        *,
        stale_s: float = CLAIM_STALE_S,
        wait_s: float = CLAIM_WAIT_S,
        keeper: ClaimKeeper | None = None,
    ) -> None:
        self.store = store
        self.root = S3Layout(dest).request_ledger(model)
        self.claims = S3Layout(dest).request_claims(model)
        self.stale_s = stale_s
        self.wait_s = wait_s
        self.keeper = keeper

    def _claim_loc(self, key: str, attempt: int) -> S3Location:
        return self.claims.join(f"{key}-{attempt}.json")

    def claim(self, key: str, attempt: int, run_id: str) -> bool:
        """Whether this run may send `key`'s attempt now (it won or took over the claim). A won claim is
        handed to the keeper (refreshed until `release`)."""
        loc = self._claim_loc(key, attempt)
        mine = {"run_id": run_id, "claimed_at": datetime.now(UTC).isoformat()}
        etag = self.store.put_json_if_absent(loc, mine)
        if etag is None:
            doc, seen = self.store.get_json_versioned(loc)
            if doc is None or seen is None:  # deleted in between: try once more
                etag = self.store.put_json_if_absent(loc, mine)
            elif doc.get("run_id") == run_id or claim_age_s(doc) >= self.stale_s:
                # an earlier try of this same run, or a claim nobody refreshes: this run's now
                etag = self.store.put_json_if_match(loc, mine, seen)
        if etag is None:
            return False
        if self.keeper is not None:
            self.keeper.hold(loc, mine, etag)
        return True

    def release(self, key: str, attempt: int) -> None:
        """The attempt's outcome has arrived: its claim is no longer refreshed."""
        if self.keeper is not None:
            self.keeper.release(self._claim_loc(key, attempt))

    def holder(self, key: str, attempt: int) -> str | None:
        """The run whose claim on `key`'s attempt is still refreshed (its request in flight), if any."""
        doc = self.store.get_json_or_none(self._claim_loc(key, attempt))
        return str(doc.get("run_id")) if doc is not None and claim_age_s(doc) < self.stale_s else None

    def live(self, key: str, attempt: int) -> bool:
        """Whether another run's claim on `key`'s attempt is still refreshed (its request in flight)."""
        return self.holder(key, attempt) is not None

    def wait(self, needed: dict[str, int], note: Callable[[str], None]) -> dict[str, RequestOutcome]:
        """The answers other runs are sending (key -> the attempt awaited), as they arrive in the ledger,
        for as long as their claims stay fresh; a key whose claim goes stale (its run died) is left out,
        for the caller to claim and send itself. Past `wait_s`, a TransientError names the run that
        still holds them: sending them here would pay twice, and a retry takes what arrived."""
        found: dict[str, RequestOutcome] = {}
        waiting = dict(needed)
        started = last_check = time.monotonic()
        last_note = 0.0  # the first note at once, as the wait begins
        while waiting:
            if time.monotonic() - started > self.wait_s:
                key, attempt = next(iter(waiting.items()))
                raise TransientError(
                    f"run {self.holder(key, attempt) or 'another run'} has held {len(waiting)} request(s) of "
                    f"this date for over {self.wait_s:.0f} s (e.g. {key}) and is still sending them: this run "
                    "stops rather than pay for them twice; retry it once that run has ended (setting "
                    "`sync_claim_wait_seconds`)"
                )
            for key, attempt in list(waiting.items()):
                if (outcome := self.get(key)) is not None and outcome.attempt >= attempt:
                    found[key] = outcome
                    del waiting[key]
            if not waiting:
                break
            if time.monotonic() - last_check >= self.stale_s / 3:  # claims are refreshed this often
                waiting = {k: a for k, a in waiting.items() if self.live(k, a)}
                last_check = time.monotonic()
                if not waiting:
                    break
            if time.monotonic() - last_note >= WAIT_NOTE_EVERY_S:
                note(f"waiting for {len(waiting)} answer(s) another run is receiving")
                last_note = time.monotonic()
            time.sleep(CLAIM_POLL_S)
        return found

    def get(self, key: str) -> RequestOutcome | None:
        doc = self.store.get_json_or_none(self.root.join(f"{key}.json"))
        return RequestOutcome.from_dict(doc) if doc else None

    def put(self, outcome: RequestOutcome) -> None:
        self.store.put_json(self.root.join(f"{outcome.key}.json"), outcome.to_dict())
