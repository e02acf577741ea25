"""From request outcomes to one validated, stitched answer per item (or quarantine rows).

An answer that fails its pydantic model is re-asked once (pipeline.validate.reask) with the validation
error appended to the prompt; the re-ask is its own paid request under `reask_key(key)`, and when it
exists its answer is the one used here.
"""

from __future__ import annotations

from typing import Any

from pipeline.models import ItemStatus
from pipeline.run.state import (
    AnswerLedgerEntry,
    AnswerSpan,
    ItemAnswer,
    ItemState,
    QuarantineRow,
    RequestOutcome,
    RunManifest,
)
from pipeline.stitch import ChunkAnswer, stitch
from pipeline.tasks import Task
from pipeline.validate.records import AnswerInvalid, parse_answer, valid_spans

REASK_SUFFIX = "-reask"


def reask_key(key: str) -> str:
    return f"{key}{REASK_SUFFIX}"


def keys_to_reask(task: Task, manifest: RunManifest) -> dict[str, str]:
    """Request key -> validation error, for answers that arrived but do not match the task's model and
    have not been re-asked yet. Errors of the request itself (safety, max tokens) are not re-asked:
    the same prompt would meet the same limit."""
    todo: dict[str, str] = {}
    for item in manifest.items:
        if not item.active:
            continue
        for chunk in item.prepared:
            key = item.request_key(chunk)
            outcome = manifest.outcomes.get(key)
            if outcome is None or reask_key(key) in manifest.outcomes or not outcome.ok:
                continue
            try:
                parse_answer(task, outcome.text)
            except AnswerInvalid as exc:
                todo[key] = str(exc)
    return todo


def _outcome_for(manifest: RunManifest, key: str) -> tuple[str, RequestOutcome | None]:
    """The outcome that answers a chunk: the re-ask's when there was one."""
    again = reask_key(key)
    if again in manifest.outcomes:
        return again, manifest.outcomes[again]
    return key, manifest.outcomes.get(key)


def answer_item(task: Task, manifest: RunManifest, item: ItemState) -> list[QuarantineRow]:
    """Fill `item.answer` from its chunks' outcomes; quarantine the item when a chunk has no valid answer."""
    rows: list[QuarantineRow] = []
    chunk_answers: list[ChunkAnswer] = []
    uri = item.source.uri
    for chunk in item.prepared:
        key, outcome = _outcome_for(manifest, item.request_key(chunk))
        if outcome is None:
            rows.append(
                QuarantineRow(
                    source_uri=uri,
                    stage="infer",
                    reason="no_outcome",
                    detail=f"chunk {chunk.index}: request {key} has no recorded outcome",
                )
            )
            continue
        if not outcome.ok:
            reason = (outcome.finish_reason or "request_error").lower()
            rows.append(
                QuarantineRow(
                    source_uri=uri,
                    stage="infer",
                    reason=reason,
                    detail=f"chunk {chunk.index}: {outcome.error}",
                )
            )
            continue
        try:
            answer = parse_answer(task, outcome.text)
        except AnswerInvalid as exc:
            asked = "after a re-ask" if key.endswith(REASK_SUFFIX) else "(not re-asked)"
            rows.append(
                QuarantineRow(
                    source_uri=uri,
                    stage="validate",
                    reason=exc.reason,
                    detail=f"chunk {chunk.index} {asked}: {exc.detail}",
                )
            )
            continue
        spans, problems = valid_spans(task.spans(answer), chunk.duration_s)
        rows.extend(
            QuarantineRow(
                source_uri=uri, stage="validate", reason="invalid_segment", detail=f"chunk {chunk.index}: {p}"
            )
            for p in problems
        )
        chunk_answers.append(ChunkAnswer(chunk.index, chunk.start_s, chunk.duration_s, answer, spans))
    if len(chunk_answers) < len(item.prepared) or not item.prepared:  # every file of every chunk
        item.fail(
            "validate",
            "incomplete_answer",
            f"{uri}: {len(item.prepared) - len(chunk_answers)} of {len(item.prepared)} chunk(s) have no valid answer",
            ItemStatus.QUARANTINED,
        )
        return rows
    duration = item.probe.duration_s if item.probe else None
    stitched = stitch(task, chunk_answers, source_duration_s=duration)
    item.answer = ItemAnswer(
        summary=stitched.summary,
        tags=stitched.tags,
        language=stitched.language,
        spans=[AnswerSpan.model_validate(span.__dict__) for span in stitched.spans],
        answers=[a.model_dump(mode="json") for a in stitched.answers],
    )
    return rows


def ledger_entry(manifest: RunManifest, item: ItemState) -> dict[str, Any]:
    assert item.answer is not None, "only answered items enter the answer ledger"
    entry = AnswerLedgerEntry(
        run_id=manifest.run_id, dt=manifest.dt, source_uri=item.source.uri, answer=item.answer
    )
    return entry.model_dump(mode="json")
