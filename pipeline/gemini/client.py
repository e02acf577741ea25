"""The Gemini client: google-genai over HTTP, pointed at the real service or the emulator by config."""

from __future__ import annotations

import os

from google import genai
from google.genai import types
from pydantic import BaseModel, SecretStr

from pipeline.errors import ConfigError


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
    options = types.HttpOptions(timeout=conn.timeout_ms)
    if conn.base_url:
        options.base_url = conn.base_url
    if conn.api_version:
        options.api_version = conn.api_version
    return genai.Client(api_key=conn.api_key.get_secret_value(), http_options=options)


def translate_api_error(exc: Exception, what: str) -> Exception:
    """google-genai errors -> the project's tree: 408/429/5xx are transient, other 4xx terminal."""
    from google.genai import errors as genai_errors

    from pipeline.errors import GeminiTransientError, TerminalError

    if isinstance(exc, genai_errors.APIError):
        code = int(exc.code or 0)
        if code in (408, 429) or code >= 500:
            return GeminiTransientError(f"{what}: Gemini answered {code} {exc.status}: {exc.message}")
        return TerminalError(f"{what}: Gemini answered {code} {exc.status}: {exc.message}")
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
