"""Every google-genai error is classified where it arises (pipeline.gemini.client.translate_api_error)."""

from __future__ import annotations

import httpx
import pytest
from google.genai import errors as genai_errors

from pipeline.errors import (
    ConfigError,
    GeminiRequestError,
    GeminiTransientError,
    ModelNotServedError,
    QuotaExhaustedError,
)
from pipeline.gemini.client import translate_api_error
from pipeline.infer.retry import server_retry_delay

QUOTA = "type.googleapis.com/google.rpc.QuotaFailure"
RETRY = "type.googleapis.com/google.rpc.RetryInfo"


def _api_error(code: int, status: str, message: str, details: list | None = None) -> genai_errors.APIError:
    body = {"error": {"code": code, "status": status, "message": message, "details": details or []}}
    cls = genai_errors.ClientError if code < 500 else genai_errors.ServerError
    return cls(code, body)


def _violation(quota_id: str) -> dict:
    return {"@type": QUOTA, "violations": [{"quotaId": quota_id, "quotaMetric": "m", "quotaValue": "10"}]}


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_api_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), GeminiTransientError),
        (_api_error(500, "INTERNAL", "An internal error has occurred."), GeminiTransientError),
        (_api_error(408, "DEADLINE_EXCEEDED", "timeout"), GeminiTransientError),
        # per-minute quota with a RetryInfo: wait and try again
        (_api_error(429, "RESOURCE_EXHAUSTED", "quota", [_violation("GenerateRequestsPerMinutePerProjectPerModel"),
                                                         {"@type": RETRY, "retryDelay": "7s"}]), GeminiTransientError),
        # a daily quota lasts until its reset, even bundled with a per-minute violation and a RetryInfo
        (_api_error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota",
                    [_violation("GenerateRequestsPerDayPerProjectPerModel")]), QuotaExhaustedError),
        (_api_error(429, "RESOURCE_EXHAUSTED", "quota", [_violation("GenerateRequestsPerMinutePerProjectPerModel"),
                                                         _violation("GenerateRequestsPerDayPerProjectPerModel-FreeTier"),
                                                         {"@type": RETRY, "retryDelay": "47s"}]), QuotaExhaustedError),
        (_api_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."), ConfigError),
        (_api_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."), ConfigError),
        (_api_error(404, "NOT_FOUND", "models/gemini-2.5-flash is not found for API version v1beta, or is not "
                    "supported for generateContent."), ModelNotServedError),
        (_api_error(400, "INVALID_ARGUMENT", "Unsupported MIME type: text/x-foo"), GeminiRequestError),
        (_api_error(403, "PERMISSION_DENIED", "You do not have permission to access the File files/x"), GeminiRequestError),
        (_api_error(403, "PERMISSION_DENIED", "Generative Language API has not been used in project 12 before "
                    "or it is disabled.", [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                             "reason": "SERVICE_DISABLED"}]), ConfigError),
        (httpx.ConnectError("refused"), GeminiTransientError),
    ],
)  # fmt: skip
def test_errors_are_classified_at_the_boundary(error, kind) -> None:
    translated = translate_api_error(error, "request k1")
    assert type(translated) is kind
    assert "request k1" in str(translated)


def test_a_refused_key_names_the_credential_to_fix_and_keeps_the_status() -> None:
    err = translate_api_error(
        _api_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
        "looking up model m",
    )
    assert "GEMINI_API_KEY" in str(err) and "gemini_default" in str(err)
    assert err.http_status == 400


def test_a_daily_quota_message_says_it_lasts_until_the_reset() -> None:
    err = translate_api_error(
        _api_error(
            429, "RESOURCE_EXHAUSTED", "quota", [_violation("GenerateRequestsPerDayPerProjectPerModel")]
        ),
        "request k1",
    )
    assert "exhausted until it resets" in str(err) and "GenerateRequestsPerDayPerProjectPerModel" in str(err)


def test_anything_unclassified_is_returned_as_it_is_to_fail_loudly() -> None:
    bug = TypeError("'NoneType' object is not subscriptable")
    assert translate_api_error(bug, "building a request") is bug


def test_retry_info_is_read_from_a_real_api_error() -> None:
    err = _api_error(429, "RESOURCE_EXHAUSTED", "quota", [{"@type": RETRY, "retryDelay": "2.5s"}])
    assert server_retry_delay(err) == 2.5
