"""The run's manifest: what every stage knows about every item, kept in the destination's staging
area (`<dest>/_staging/runs/<run_id>/`: a head and its parts, see pipeline.run.shards) so any stage can
run on any worker, and a retried stage finds what the earlier try left."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, field_validator

from pipeline.models import ItemStatus, MediaPlan, PreparedChunk, ProbeResult, SourceObject, Track, Usage
from pipeline.storage.redact import redact_signed_urls


def request_key(sha256: str, chunk_index: int, fingerprint: str, track: Track = Track.ALL) -> str:
    """Stable across reruns: the same content, chunk, track and settings give the same key."""
    suffix = "" if track is Track.ALL else f"-{track.value}"
    return f"{sha256[:16]}-{fingerprint[:8]}-c{chunk_index:03d}{suffix}"


class RequestOutcome(BaseModel):
    """What became of one request (one attempt): the answer or the error, its billed usage and timing.
    The same document is the sync answer ledger's record (pipeline.infer.ledgers.RequestLedger)."""

    key: str
    mode: str  # batch | sync
    status: str  # ok | error
    text: str | None = None
    finish_reason: str | None = None
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_ms: int | None = None
    batch_job: str | None = None
    billed: bool = True  # False when the service rejected the request before any tokens were used
    attempt: int = 1
    model_version: str | None = None  # what the service says answered (routing shows here)
    answered_at: str | None = None  # UTC ISO time the answer arrived: it picks the price window
    thinking: str | None = None  # the thinking level the request was sent with (effective level)
    model_stage: str | None = None  # lifecycle stage the response reported (LEGACY, DEPRECATED, ...)

    @field_validator("error")
    @classmethod
    def _no_signed_url(cls, value: str | None) -> str | None:
        # An error may quote the request's signed media URL; this record goes to the manifest, the answer
        # ledger and the requests table, so the signature never does.
        return redact_signed_urls(value) if value else value

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> RequestOutcome:
        return cls.model_validate(doc)

    def answered_on(self, fallback: datetime) -> datetime:
        return datetime.fromisoformat(self.answered_at) if self.answered_at else fallback


class RequestFacts(BaseModel):
    """What the run knows of one request before it is sent: its chunk, model and estimate."""

    source_uri: str
    chunk_index: int
    track: Track = Track.ALL
    model: str
    chunk_start_s: float
    chunk_end_s: float
    mime_type: str
    bytes: int
    chunk_uri: str | None = None
    media_resolution: str | None = None
    estimated_prompt_tokens: int = 0
    reask_of: str | None = None  # a re-ask is the same chunk as the request it names


class PromptCache(BaseModel):
    name: str
    tokens: int
    created_at: datetime
    expires_at: datetime | None = None
    deleted_at: datetime | None = None

    def held_seconds(self, now: datetime | None = None) -> float:
        end = self.deleted_at or now or datetime.now(UTC)
        return max(0.0, (end - self.created_at).total_seconds())


class AnswerSpan(BaseModel):
    """A span of the stitched answer on the source's timeline (a `segments` row)."""

    start_s: float
    end_s: float
    label: str
    description: str
    chunk_indexes: list[int] = Field(default_factory=list)


class ItemAnswer(BaseModel):
    """The stitched answer of one item: what its `annotations` and `segments` rows are made of."""

    summary: str
    tags: list[str]
    language: str | None
    spans: list[AnswerSpan]
    answers: list[dict[str, Any]]  # each chunk's answer as the task's own pydantic model dumps it


class AnswerLedgerEntry(BaseModel):
    """An answered source in the answer ledger (`<dest>/_ledger/answers/`): later runs reuse it."""

    run_id: str
    dt: str
    source_uri: str
    answer: ItemAnswer


class ItemState(BaseModel):
    source: SourceObject
    status: ItemStatus = ItemStatus.OK
    stage: str | None = None  # stage that failed it
    reason: str | None = None  # short code (of the failure, or of an ok item's warning)
    error: str | None = None  # human message naming the file and the fix (or what the warning means)
    probe: ProbeResult | None = None
    plan: MediaPlan | None = None
    estimated_cost_usd: Decimal = Decimal(0)
    estimated_cost_upper_usd: Decimal = Decimal(0)
    fingerprint: str | None = None
    prepared: list[PreparedChunk] = Field(default_factory=list)
    reused_from_run_id: str | None = None
    answer: ItemAnswer | None = None  # stitched answer (see pipeline.validate.answers)

    @property
    def active(self) -> bool:
        """Still on its way to the model (not failed, duplicate or answered from the ledger)."""
        return self.status == ItemStatus.OK and self.reused_from_run_id is None

    def request_key(self, chunk: PreparedChunk) -> str:
        """The key of the request that sends this chunk (file) of this item."""
        return request_key(self.source.sha256, chunk.index, self.fingerprint or "", chunk.track)

    def chunk_count(self) -> int:
        """Planned pieces of the source (a split video sends two files per piece)."""
        return len({c.index for c in self.prepared})

    def fail(self, stage: str, reason: str, error: str, status: ItemStatus = ItemStatus.FAILED) -> None:
        self.status, self.stage, self.reason, self.error = status, stage, reason, error

    def warn(self, reason: str, message: str) -> None:
        """A source answered all the same (status stays ok) with something its row must say, e.g. a
        truncated file answered up to where it decodes. A later failure replaces it."""
        self.reason, self.error = reason, message


class BatchSubmission(BaseModel):
    group: str  # fingerprint of the request keys in this job
    job_name: str
    keys: list[str]
    submitted_at: datetime
    transport: str = "inline"  # inline | files
    uploaded_files: list[str] = Field(default_factory=list)
    collected: bool = False


class QuarantineRow(BaseModel):
    source_uri: str
    stage: str
    reason: str
    detail: str | None = None


class RunManifest(BaseModel):
    run_id: str
    dt: str
    started_at: datetime
    model: str
    task: str
    task_version: str
    mode: str
    source: str
    dest: str
    budget_usd: Decimal | None = None
    estimated_cost_usd: Decimal = Decimal(0)
    stages_done: list[str] = Field(default_factory=list)
    items: list[ItemState] = Field(default_factory=list)
    batches: list[BatchSubmission] = Field(default_factory=list)
    prompt_cache: PromptCache | None = None  # when the task's prompt is cached for the run
    resolved_mode: str | None = None  # batch | sync, once infer has decided (mode=auto)
    outcomes: dict[str, RequestOutcome] = Field(default_factory=dict)  # request key -> latest attempt
    history: list[RequestOutcome] = Field(default_factory=list)  # earlier attempts (billed too)
    requests: dict[str, RequestFacts] = Field(default_factory=dict)  # request key -> chunk facts
    quarantine: list[QuarantineRow] = Field(default_factory=list)
    estimated_cost_upper_usd: Decimal = Decimal(
        0
    )  # every answer and thought at its upper bound (the budget guard's)
    estimate_basis: str | None = None  # where answer/thought sizes came from (history or the prior)
    models_checked: list[str] = Field(default_factory=list)  # models the service confirmed it serves
    warnings: list[str] = Field(default_factory=list)  # catalog, lifecycle and latency warnings, once each
    # request key -> (item, chunk): a lookup cache for the infer stage, never serialised
    _chunk_index: dict[str, tuple[ItemState, PreparedChunk]] | None = PrivateAttr(default=None)

    def note(self, warning: str) -> None:
        if warning not in self.warnings:
            self.warnings.append(warning)
