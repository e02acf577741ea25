"""The result of one request, whatever transport carried it."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.cost import Usage


@dataclass
class RequestOutcome:
    key: str
    mode: str  # batch | sync
    status: str  # ok | error
    text: str | None = None
    finish_reason: str | None = None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_ms: int | None = None
    batch_job: str | None = None
    billed: bool = True  # False when the service rejected the request before any tokens were used
    attempt: int = 1

    def to_dict(self) -> dict:
        return {**self.__dict__, "usage": self.usage.model_dump()}

    @classmethod
    def from_dict(cls, doc: dict) -> RequestOutcome:
        return cls(**{**doc, "usage": Usage(**doc.get("usage", {}))})


def finish_reason_of(response) -> str | None:  # noqa: ANN001 - google-genai GenerateContentResponse
    candidates = getattr(response, "candidates", None) or []
    if not candidates or candidates[0].finish_reason is None:
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and feedback.block_reason is not None:
            return f"BLOCKED_{getattr(feedback.block_reason, 'value', feedback.block_reason)}"
        return None
    reason = candidates[0].finish_reason
    return str(getattr(reason, "value", reason))


def outcome_from_response(
    key: str, response, *, mode: str, latency_ms: int | None, batch_job: str | None = None
) -> RequestOutcome:  # noqa: ANN001
    reason = finish_reason_of(response)
    try:
        text = response.text
    except (ValueError, AttributeError):
        text = None
    ok = reason in (None, "STOP") and bool(text)
    return RequestOutcome(
        key=key,
        mode=mode,
        status="ok" if ok else "error",
        text=text,
        finish_reason=reason,
        error=None if ok else f"no usable answer (finish_reason={reason})",
        usage=Usage.from_usage_metadata(response.usage_metadata),
        latency_ms=latency_ms,
        batch_job=batch_job,
    )
