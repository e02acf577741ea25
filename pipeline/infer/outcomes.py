"""From an SDK response to the run's record of one request (pipeline.run.state.RequestOutcome)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.models import Usage
from pipeline.run.state import RequestOutcome

# Finish reasons that leave a usable answer. CONTINUATION means "not finished": the SDK's sync calls
# follow it to the end (automatic continuation); a batch answer that stops there is retried synchronously.
FINISHED = (None, "STOP")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def finish_reason_of(response: Any) -> str | None:
    candidates = getattr(response, "candidates", None) or []
    if not candidates or candidates[0].finish_reason is None:
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and feedback.block_reason is not None:
            return f"BLOCKED_{getattr(feedback.block_reason, 'value', feedback.block_reason)}"
        return None
    reason = candidates[0].finish_reason
    return str(getattr(reason, "value", reason))


def _stage(response: Any) -> str | None:
    status = getattr(response, "model_status", None)
    stage = getattr(status, "model_stage", None) if status is not None else None
    return str(getattr(stage, "value", stage)) if stage is not None else None


def outcome_from_response(
    key: str,
    response: Any,  # google-genai GenerateContentResponse
    *,
    mode: str,
    latency_ms: int | None,
    batch_job: str | None = None,
    thinking: str | None = None,
    answered_at: str | None = None,
) -> RequestOutcome:
    reason = finish_reason_of(response)
    try:
        text = response.text
    except (ValueError, AttributeError):
        text = None
    ok = reason in FINISHED and bool(text)
    return RequestOutcome(
        key=key,
        mode=mode,
        status="ok" if ok else "error",
        text=text,
        finish_reason=reason,
        error=None if ok else f"no usable answer (finish_reason={reason}{', empty' if not text else ''})",
        usage=Usage.from_usage_metadata(response.usage_metadata),
        latency_ms=latency_ms,
        batch_job=batch_job,
        model_version=getattr(response, "model_version", None),
        answered_at=answered_at or now_iso(),
        thinking=thinking,
        model_stage=_stage(response),
    )
