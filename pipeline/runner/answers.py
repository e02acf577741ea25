"""From request outcomes to one validated, stitched answer per item (or quarantine rows)."""

from __future__ import annotations

from typing import Any

from pipeline.gemini.outcomes import RequestOutcome
from pipeline.gemini.requests import request_key
from pipeline.models import ItemStatus
from pipeline.runner.state import ItemState, QuarantineRow, RunManifest
from pipeline.stitch import ChunkAnswer, stitch
from pipeline.tasks import Task
from pipeline.validate import AnswerInvalid, parse_answer, valid_spans


def answer_item(task: Task, manifest: RunManifest, item: ItemState) -> list[QuarantineRow]:
    """Fill `item.answer` from its chunks' outcomes; quarantine the item when a chunk has no valid answer."""
    rows: list[QuarantineRow] = []
    chunk_answers: list[ChunkAnswer] = []
    uri = item.source.uri
    for chunk in item.prepared:
        key = request_key(item.source.sha256, chunk.index, item.fingerprint or "")
        doc = manifest.outcomes.get(key)
        if doc is None:
            rows.append(QuarantineRow(source_uri=uri, stage="infer", reason="no_outcome", detail=f"chunk {chunk.index}: request {key} has no recorded outcome"))
            continue
        outcome = RequestOutcome.from_dict(doc)
        if outcome.status != "ok":
            reason = (outcome.finish_reason or "request_error").lower()
            rows.append(QuarantineRow(source_uri=uri, stage="infer", reason=reason, detail=f"chunk {chunk.index}: {outcome.error}"))
            continue
        try:
            answer = parse_answer(task, outcome.text)
        except AnswerInvalid as exc:
            rows.append(QuarantineRow(source_uri=uri, stage="validate", reason=exc.reason, detail=f"chunk {chunk.index}: {exc.detail}"))
            continue
        spans, problems = valid_spans(task.spans(answer), chunk.duration_s)
        rows.extend(
            QuarantineRow(source_uri=uri, stage="validate", reason="invalid_segment", detail=f"chunk {chunk.index}: {p}") for p in problems
        )
        chunk_answers.append(ChunkAnswer(chunk.index, chunk.start_s, chunk.duration_s, answer, spans))
    if len(chunk_answers) < len(item.prepared) or not item.prepared:
        item.fail("validate", "incomplete_answer", f"{uri}: {len(item.prepared) - len(chunk_answers)} of {len(item.prepared)} chunk(s) have no valid answer", ItemStatus.QUARANTINED)
        return rows
    duration = item.probe.duration_s if item.probe else None
    stitched = stitch(task, chunk_answers, source_duration_s=duration)
    item.answer = {
        "summary": stitched.summary,
        "tags": stitched.tags,
        "language": stitched.language,
        "spans": [span.__dict__ for span in stitched.spans],
        "answers": [a.model_dump(mode="json") for a in stitched.answers],
    }
    return rows


def ledger_entry(manifest: RunManifest, item: ItemState) -> dict[str, Any]:
    return {"run_id": manifest.run_id, "dt": manifest.dt, "source_uri": item.source.uri, "answer": item.answer}
