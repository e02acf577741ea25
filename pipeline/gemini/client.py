"""The Gemini client: google-genai over HTTP, pointed at the real service or the emulator by config. Every
call the pipeline makes to Gemini goes through `GeminiClient`, which translates each SDK error into the
project's error tree (pipeline/errors.py) where it arises, so callers decide retry or not by class alone."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from typing import Any, NoReturn

from google import genai
from google.genai import types
from pydantic import BaseModel, SecretStr

from pipeline.catalog import api_version
from pipeline.errors import (
    ConfigError,
    GeminiRequestError,
    GeminiTransientError,
    ModelNotServedError,
    PipelineError,
    QuotaExhaustedError,
)
from pipeline.storage.redact import redact_signed_urls

_QUOTA_FAILURE = "google.rpc.QuotaFailure"
_MODEL_NOT_FOUND = re.compile(r"models/([A-Za-z0-9.\-]+) is not found")
_KEY_NOT_ALLOWED = re.compile(
    r"SERVICE_DISABLED|API_KEY_SERVICE_BLOCKED|unregistered callers|has not been used"
)
_KEY_VARIABLES = "GEMINI_API_KEY (or the gemini_default Airflow connection's password)"


class GeminiConnection(BaseModel):
    """Where and how to reach Gemini. `base_url` None means Google's service."""

    api_key: SecretStr
    base_url: str | None = None
    api_version: str | None = None
    timeout_ms: int = 300_000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> GeminiConnection:
        connection = cls.from_env_if_set(env)
        if connection is None:
            raise no_credentials()
        return connection

    @classmethod
    def from_env_if_set(cls, env: dict[str, str] | None = None) -> GeminiConnection | None:
        """The connection the environment describes, or None when it holds no API key (a run that
        sends nothing needs none; one that does fails with `no_credentials()` when it first would)."""
        env = dict(os.environ if env is None else env)
        key = env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY")
        if not key:
            return None
        return cls(
            api_key=SecretStr(key),
            base_url=env.get("GOOGLE_GEMINI_BASE_URL") or None,
            api_version=env.get("GOOGLE_GENAI_API_VERSION") or None,
        )


def no_credentials() -> ConfigError:
    return ConfigError(
        "no Gemini credentials: set GEMINI_API_KEY for the real service (or the gemini_default Airflow "
        "connection), or run against the emulator (`media-pipeline demo` starts one; `media-pipeline "
        "emulator` + GOOGLE_GEMINI_BASE_URL)"
    )


def require_client(client: GeminiClient | None) -> GeminiClient:
    """The run's client where a stage is about to call Gemini: without credentials, a ConfigError."""
    if client is None:
        raise no_credentials()
    return client


def make_client(conn: GeminiConnection) -> genai.Client:
    """The SDK client, pinned to the API version under which batches, files, caches and per-part media
    resolution are documented (pipeline/catalog/models.json `api_version`), not the SDK's default."""
    options = types.HttpOptions(timeout=conn.timeout_ms, api_version=conn.api_version or api_version())
    if conn.base_url:
        options.base_url = conn.base_url
    return genai.Client(api_key=conn.api_key.get_secret_value(), http_options=options)


class GeminiClient:
    """Every Gemini call of the pipeline: models, generation, batches, files and caches, sync and async.

    Each method raises the project's errors only: a service or transport error is translated where it
    arises (`translate_api_error`); anything else (a bug, an SDK change) propagates as it is and fails
    loudly instead of being retried as if transient."""

    def __init__(self, connection: GeminiConnection) -> None:
        self.connection = connection
        self._sdk = make_client(connection)

    # -- models ---------------------------------------------------------------------------------------
    def get_model(self, model: str) -> types.Model:
        try:
            return self._sdk.models.get(model=model)
        except Exception as exc:
            _raise(exc, f"looking up model {model}")

    def generate(
        self, model: str, contents: list[types.Content], config: types.GenerateContentConfig
    ) -> types.GenerateContentResponse:
        try:
            return self._sdk.models.generate_content(model=model, contents=contents, config=config)
        except Exception as exc:
            _raise(exc, f"generating with {model}")

    # -- batches --------------------------------------------------------------------------------------
    def create_batch(
        self, model: str, src: list[types.InlinedRequest] | str, display_name: str
    ) -> types.BatchJob:
        """A batch job of inline requests, or of the JSONL file named by `src` (a Files API name)."""
        try:
            job = self._sdk.batches.create(
                model=model, src=src, config=types.CreateBatchJobConfig(display_name=display_name)
            )
        except Exception as exc:
            _raise(exc, f"creating batch job {display_name}")
        if not job.name:
            raise GeminiRequestError(f"creating batch job {display_name}: the service answered no job name")
        return job

    def get_batch(self, name: str) -> types.BatchJob:
        try:
            return self._sdk.batches.get(name=name)
        except Exception as exc:
            _raise(exc, f"polling {name}")

    async def get_batch_async(self, name: str) -> types.BatchJob:
        """The same look as `get_batch`, for the Airflow triggerer's event loop."""
        try:
            return await self._sdk.aio.batches.get(name=name)
        except Exception as exc:
            _raise(exc, f"polling {name}")

    def list_batches(self, page_size: int = 100) -> Iterator[types.BatchJob]:
        """Every batch job of the project; pages are fetched while iterating (errors translated too)."""
        try:
            yield from self._sdk.batches.list(config=types.ListBatchJobsConfig(page_size=page_size))
        except Exception as exc:
            _raise(exc, "listing batch jobs")

    # -- files ----------------------------------------------------------------------------------------
    def upload_file(self, data: bytes, *, mime_type: str, display_name: str) -> types.File:
        try:
            return self._sdk.files.upload(
                file=io.BytesIO(data),
                config=types.UploadFileConfig(mime_type=mime_type, display_name=display_name),
            )
        except Exception as exc:
            _raise(exc, f"uploading {display_name}")

    def get_file(self, name: str) -> types.File:
        try:
            return self._sdk.files.get(name=name)
        except Exception as exc:
            _raise(exc, f"checking upload {name}")

    def download_file(self, name: str) -> bytes:
        try:
            return self._sdk.files.download(file=name)
        except Exception as exc:
            _raise(exc, f"downloading {name}")

    def delete_file(self, name: str) -> None:
        try:
            self._sdk.files.delete(name=name)
        except Exception as exc:
            _raise(exc, f"deleting {name}")

    # -- context caches -------------------------------------------------------------------------------
    def create_cache(self, model: str, config: types.CreateCachedContentConfig) -> types.CachedContent:
        try:
            return self._sdk.caches.create(model=model, config=config)
        except Exception as exc:
            _raise(exc, f"creating a context cache on {model}")

    def delete_cache(self, name: str) -> None:
        try:
            self._sdk.caches.delete(name=name)
        except Exception as exc:
            _raise(exc, f"deleting context cache {name}")


def _raise(exc: Exception, what: str) -> NoReturn:
    """Raise the project's error for an SDK failure; an exception of no known family as it is."""
    err = translate_api_error(exc, what)
    if err is exc:
        raise exc
    raise err from exc


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
    # The service may quote a request's media URL back (a failed fetch): a signed one is a credential.
    return redact_signed_urls(f"Gemini answered {exc.code} {exc.status}: {exc.message}")


def translate_api_error(exc: Exception, what: str) -> Exception:
    """google-genai errors -> the project's tree. Default deny: an exception of no known family is
    returned as it is, so the caller re-raises it and it fails loudly (never retried as if transient).
    A translated service error keeps the HTTP status it came with (`http_status`)."""
    from google.genai import errors as genai_errors

    if isinstance(exc, genai_errors.APIError):
        err = _translate_service_error(exc, what)
        err.http_status = int(exc.code or 0) or None
        return err
    if _is_transport_error(exc):
        return GeminiTransientError(
            redact_signed_urls(f"{what}: cannot reach Gemini ({type(exc).__name__}: {exc})")
        )
    return exc


def _translate_service_error(exc: Any, what: str) -> PipelineError:
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
            f"{what}: Gemini refused the API key ({code} {exc.status}): check {_KEY_VARIABLES}"
        )
    if code == 403 and _KEY_NOT_ALLOWED.search(f"{text} {error_details(exc)}"):
        # The key is valid but may not call the API at all: wrong project, API off, or a restricted key.
        # A 403 on one resource (a file of another project) is that request's problem, not the run's.
        return ConfigError(
            f"{what}: Gemini refused the call ({_message(exc)}): the key in {_KEY_VARIABLES} lacks "
            "permission; check its project has the Generative Language API enabled and its restrictions"
        )
    if code == 404 and (match := _MODEL_NOT_FOUND.search(text)):
        return ModelNotServedError(f"{what}: {_message(exc)}", model=match.group(1))
    return GeminiRequestError(f"{what}: {_message(exc)}")


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
