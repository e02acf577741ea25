"""Record-level validation of model answers."""

from __future__ import annotations

import json

from pydantic import BaseModel, ValidationError

from pipeline.tasks import SpanRow, Task

# A span may end a little past the clip (frame sampling rounds up): tolerated, then clipped.
SPAN_END_TOLERANCE_S = 1.0


class AnswerInvalid(ValueError):
    """An answer that does not match the task's response model. `reason` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_answer(task: Task, text: str | None) -> BaseModel:
    if not text:
        raise AnswerInvalid("empty_answer", "the response carried no text")
    try:
        return task.response_model.model_validate_json(text)
    except ValidationError as exc:
        try:
            json.loads(text)
        except ValueError:
            raise AnswerInvalid(
                "malformed_json", f"{exc.errors()[0]['msg']}; answer starts {text[:120]!r}"
            ) from exc
        raise AnswerInvalid(
            "schema_mismatch",
            "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]),
        ) from exc


def valid_spans(spans: list[SpanRow], clip_duration_s: float) -> tuple[list[SpanRow], list[str]]:
    """Spans inside the clip (ends clipped within tolerance) and a reason for each one dropped."""
    kept: list[SpanRow] = []
    problems: list[str] = []
    limit = clip_duration_s + SPAN_END_TOLERANCE_S
    for span in spans:
        if not (0 <= span.start_s < span.end_s):
            problems.append(
                f"span {span.label!r} has start {span.start_s} >= end {span.end_s} or negative start"
            )
        elif span.start_s >= clip_duration_s or span.end_s > limit:
            problems.append(
                f"span {span.label!r} [{span.start_s}, {span.end_s}] lies outside the {clip_duration_s:.2f}s clip"
            )
        else:
            kept.append(SpanRow(span.start_s, min(span.end_s, clip_duration_s), span.label, span.description))
    return kept, problems
