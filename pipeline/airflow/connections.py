"""S3 and Gemini through Airflow connections: `aws_default` (S3Hook, `endpoint_url` extra for MinIO or
moto) and `gemini_default` (password = API key, extra `base_url` for the emulator, `api_version`).

Secrets stay in the connection (or the secrets backend behind it): nothing here logs them, and the
DAG file names only connection ids."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # google-genai and boto3 load only when a task runs: DAG parsing stays fast
    from pipeline.gemini.client import GeminiConnection
    from pipeline.storage import S3Store

log = logging.getLogger(__name__)

AWS_CONN_ID = "aws_default"
GEMINI_CONN_ID = "gemini_default"


def s3_store(conn_id: str = AWS_CONN_ID) -> S3Store:
    """An S3Store over the boto3 client of the Airflow AWS connection. A missing connection falls back
    to boto3's default chain (instance role, AWS_* variables), which is S3Hook's own behaviour; error
    messages then name the AWS_* variables rather than the connection's fields."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.config import Config

    from pipeline.storage import CredentialNames, S3Connection, S3Store

    # SigV4 for every call: the signed media URLs must be SigV4 (S3Store.presign_get refuses others), and
    # a connection's config may not say so.
    hook = S3Hook(aws_conn_id=conn_id, config=Config(signature_version="s3v4"))
    # Messages name where the keys were set: the connection's fields, or the AWS_* variables / role.
    from_connection = bool(hook.conn_config.aws_access_key_id)
    names = CredentialNames.airflow(conn_id) if from_connection else S3Connection.from_env().names
    return S3Store(client=hook.get_conn(), names=names)


def gemini_from_connection(conn: Any) -> GeminiConnection:
    """Map an Airflow Connection (sync or async fetched) onto the pipeline's GeminiConnection."""
    from pydantic import SecretStr

    from pipeline.gemini.client import GeminiConnection

    extra = conn.extra_dejson or {}
    key = conn.password or extra.get("api_key")
    if not key:
        from pipeline.errors import ConfigError

        raise ConfigError(
            f"Airflow connection {conn.conn_id!r} has no API key: put the Gemini key in its password"
        )
    return GeminiConnection(
        api_key=SecretStr(key),
        base_url=extra.get("base_url") or conn.host or None,
        api_version=extra.get("api_version") or None,
        timeout_ms=int(extra.get("timeout_ms", 300_000)),
    )


def gemini_connection(conn_id: str = GEMINI_CONN_ID) -> GeminiConnection:
    """The Gemini connection from Airflow; without one, the standard GEMINI_API_KEY variables."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return gemini_from_connection(Connection.get(conn_id))
    except AirflowNotFoundException:
        from pipeline.gemini.client import GeminiConnection

        log.info("no Airflow connection %r: using GEMINI_API_KEY / GOOGLE_GEMINI_BASE_URL", conn_id)
        return GeminiConnection.from_env()


async def async_gemini_connection(conn_id: str = GEMINI_CONN_ID) -> GeminiConnection:
    """The same, from async code (the triggerer)."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return gemini_from_connection(await Connection.async_get(conn_id))
    except AirflowNotFoundException:
        from pipeline.gemini.client import GeminiConnection

        return GeminiConnection.from_env()
