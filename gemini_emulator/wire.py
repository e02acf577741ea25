"""Wire helpers of the Gemini emulator (an OFFLINE TEST DOUBLE): error JSON, key normalisation, times.

Errors are rendered the way the Gemini API renders them, `{"error": {"code", "message", "status"}}`
(plus `details` for 429s: QuotaFailure + RetryInfo, or QuotaFailure + Help for a daily quota), and
per-request errors inside batch output as a google.rpc.Status `{"code": <grpc code>, "message"}`.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# A JSON object as the wire carries it: the emulator checks shapes where the API does, not with types.
Json = dict[str, Any]

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
GRPC_CODES = {
    "CANCELLED": 1,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
}
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
HELP = "type.googleapis.com/google.rpc.Help"
RATE_LIMITS_URL = "https://ai.google.dev/gemini-api/docs/rate-limits"


class ApiError(Exception):
    """An error the API would answer, rendered as {"error": {"code", "message", "status"[, "details"]}}."""

    def __init__(self, code: int, status: str, message: str, details: list[Json] | None = None) -> None:
        super().__init__(message)
        self.code, self.status, self.message, self.details = code, status, message, details

    def body(self) -> Json:
        err: Json = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}

    def rpc_status(self) -> Json:
        """google.rpc.Status, the shape of a per-request error inside batch output."""
        return {"code": GRPC_CODES.get(self.status, 2), "message": self.message}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def exhausted(
    message: str,
    retry_s: float | None,
    quota_id: str = "",
    model: str = "",
    limit: int | None = None,
    metric: str = "generativelanguage.googleapis.com/generate_content_requests",
) -> ApiError:
    """429 RESOURCE_EXHAUSTED with a QuotaFailure (when `quota_id`) and a RetryInfo (unless `retry_s` is
    None: a daily quota or billing cap has no useful retry delay), like the API's quota errors."""
    details: list[Json] = []
    if quota_id:
        violation: Json = {
            "quotaMetric": metric,
            "quotaId": quota_id,
            "quotaDimensions": {"location": "global", "model": model},
        }
        if limit is not None:
            violation["quotaValue"] = str(limit)
        details.append({"@type": QUOTA_FAILURE, "violations": [violation]})
    if retry_s is None:
        details.append(
            {
                "@type": HELP,
                "links": [{"description": "Learn more about Gemini API quotas", "url": RATE_LIMITS_URL}],
            }
        )
    else:
        details.append({"@type": RETRY_INFO, "retryDelay": f"{max(1, math.ceil(retry_s))}s"})
    return ApiError(429, "RESOURCE_EXHAUSTED", message, details)


def daily_quota_exceeded(model: str) -> ApiError:
    """The per-day request quota: lasts until the daily reset, so it carries no RetryInfo."""
    return exhausted(
        "You exceeded your current quota, please check your plan and billing details. For more "
        f"information on this error, head to: {RATE_LIMITS_URL}.",
        None,
        "GenerateRequestsPerDayPerProjectPerModel",
        model,
    )


def overloaded() -> ApiError:
    return ApiError(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")


def decode_b64(data: object, where: str) -> bytes:
    """bytes fields arrive base64 (standard or URL-safe, padding optional: the SDK sends URL-safe)."""
    if not isinstance(data, str) or not data:
        raise bad_request(f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed: empty")
    text = data.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(
            f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed for \"{data[:40]}\""
        ) from None


def not_found(message: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


# ------------------------------------------------------------------ key normalisation

_VERBATIM_VALUE = {"responseJsonSchema", "metadata", "labels", "args", "response", "parametersJsonSchema"}
_VERBATIM_CHILD_KEYS = {"properties", "$defs", "defs", "definitions"}


def _camel(key: str) -> str:
    if key.startswith(("_", "$", "@")):
        return key
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def normalise(obj: Any, _keep_keys: bool = False) -> Any:
    """snake_case keys -> camelCase, recursively, except user-named keys."""
    if isinstance(obj, list):
        return [normalise(x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        new = key if _keep_keys else _camel(key)
        if new in _VERBATIM_VALUE and not _keep_keys:
            out[new] = value
        else:
            out[new] = normalise(value, _keep_keys=(new in _VERBATIM_CHILD_KEYS and not _keep_keys))
    return out


# ------------------------------------------------------------------ times


def ts(epoch: float) -> str:
    """RFC 3339 UTC timestamp with microseconds, as the API writes them."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise bad_request(f"Invalid value (Timestamp), {text!r}") from None


def parse_duration(text: object, where: str) -> float:
    """google.protobuf.Duration JSON ("300s", "1.5s") -> seconds."""
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)s\s*", str(text))
    if not m:
        raise bad_request(
            f"Invalid value at '{where}' (type.googleapis.com/google.protobuf.Duration), {text!r}"
        )
    return float(m.group(1))


@dataclass
class Reply:
    """One HTTP answer: JSON (`body`) or raw bytes (`raw`), plus extra headers."""

    code: int = 200
    body: Json | None = None
    raw: bytes | None = None
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
