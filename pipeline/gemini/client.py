"""The Gemini client: google-genai over HTTP, pointed at the real service or the emulator by config, and
the translation of every SDK error into the project's error tree (pipeline/errors.py)."""

from __future__ import annotations

import os
import re
from typing import Any

from google import genai
from google.genai import types
from pydantic import BaseModel, SecretStr

from pipeline.catalog import api_version
from pipeline.errors import (
    ConfigError,
    GeminiRequestError,
    GeminiTransientError,
    ModelNotServedError,
    QuotaExhaustedError,
)

_QUOTA_FAILURE = "google.rpc.QuotaFailure"
_MODEL_NOT_FOUND = re.compile(r"models/([A-Za-z0-9.\-]+) is not found")


class GeminiConnection(BaseModel):
    """Where and how to reach Gemini. `base_url` None means Google's service."""

    api_key: SecretStr
    base_url: str | None = None
    api_version: str | None = None
    timeout_ms: int = 300_000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> GeminiConnection:
        env = dict(os.environ if env is None else env)
        key = env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY")
        if not key:
            raise ConfigError(
                "no Gemini credentials: set GEMINI_API_KEY for the real service, or run against the emulator "
                "(`media-pipeline demo` starts one; `media-pipeline emulator` + GOOGLE_GEMINI_BASE_URL)"
            )
        return cls(
            api_key=SecretStr(key),
            base_url=env.get("GOOGLE_GEMINI_BASE_URL") or None,
            api_version=env.get("GOOGLE_GENAI_API_VERSION") or None,
        )


def make_client(conn: GeminiConnection) -> genai.Client:
    """The SDK client, pinned to the API version under which batches, files, caches and per-part media
    resolution are documented (pipeline/catalog/models.json `api_version`), not the SDK's default."""
    options = types.HttpOptions(timeout=conn.timeout_ms, api_version=conn.api_version or api_version())
    if conn.base_url:
        options.base_url = conn.base_url
    return genai.Client(api_key=conn.api_key.get_secret_value(), http_options=options)


def error_details(exc: Any) -> list[dict[str, Any]]:
    """The google.rpc detail objects of an APIError (QuotaFailure, RetryInfo, ErrorInfo ...)."""
    details = getattr(exc, "details", None)
    if isinstance(details, dict):
        details = details.get("error", {}).get("details", details.get("details"))
    return [d for d in details or [] if isinstance(d, dict)]


def daily_quota_violation(exc: Any) -> str | None:
    """The quota id of a per-day quota (or a spend cap) among a 429's QuotaFailure violations. Such a
    quota lasts until its reset (midnight Pacific for daily request quotas) even when the same 429 also
    carries a per-minute violation and a RetryInfo."""
    for detail in error_details(exc):
        if str(detail.get("@type", "")).endswith(_QUOTA_FAILURE):
            for violation in detail.get("violations") or []:
                quota = str(violation.get("quotaId", ""))
                if "PerDay" in quota or "Spend" in quota:
                    return quota
    return None


def _message(exc: Any) -> str:
    return f"Gemini answered {exc.code} {exc.status}: {exc.message}"


def translate_api_error(exc: Exception, what: str) -> Exception:
    """google-genai errors -> the project's tree. Default deny: an exception of no known family is
    returned as it is, so the caller re-raises it and it fails loudly (never retried as if transient)."""
    from google.genai import errors as genai_errors

    if isinstance(exc, genai_errors.APIError):
        code = int(exc.code or 0)
        text = str(exc.message or "")
        if code == 429:
            quota = daily_quota_violation(exc)
            if quota is not None:
                return QuotaExhaustedError(
                    f"{what}: the quota {quota} is exhausted until it resets (daily quotas reset at midnight "
                    "Pacific time); answers paid so far are kept, so rerun the date after the reset or raise "
                    f"the quota. {_message(exc)}"
                )
            return GeminiTransientError(f"{what}: {_message(exc)}")
        if code == 408 or code >= 500:
            return GeminiTransientError(f"{what}: {_message(exc)}")
        if code == 401 or "API key" in text or "API_KEY_INVALID" in str(error_details(exc)):
            return ConfigError(
                f"{what}: Gemini refused the API key ({code} {exc.status}): check GEMINI_API_KEY or the gemini_default connection"
            )
        if code == 404 and (match := _MODEL_NOT_FOUND.search(text)):
            return ModelNotServedError(f"{what}: {_message(exc)}", model=match.group(1))
        return GeminiRequestError(f"{what}: {_message(exc)}")
    if _is_transport_error(exc):
        return GeminiTransientError(f"{what}: cannot reach Gemini ({type(exc).__name__}: {exc})")
    return exc


def _is_transport_error(exc: Exception) -> bool:
    """google-genai talks through httpx or httpx2 depending on the call: both families count."""
    import httpx

    families: list[type[BaseException]] = [httpx.TransportError]
    try:
        import httpx2

        families.append(httpx2.TransportError)
    except ImportError:
        pass
    return isinstance(exc, tuple(families))
