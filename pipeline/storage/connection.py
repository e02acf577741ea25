"""How to reach S3, resolved once at the edge (the CLI from the environment, Airflow from its connection)
and passed to `S3Store`. Each connection also knows where its credentials came from, so an error can say
which variable or connection field to fix without ever showing a value."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, SecretStr

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")  # boto3's own precedence
_REGION_VARIABLES = ("AWS_DEFAULT_REGION", "AWS_REGION")


class CredentialNames(BaseModel):
    """What an error message calls each credential: where the user sets it, never what it is."""

    model_config = ConfigDict(frozen=True)

    access_key_id: str = "AWS_ACCESS_KEY_ID"
    secret_access_key: str = "AWS_SECRET_ACCESS_KEY"
    session_token: str = "AWS_SESSION_TOKEN"
    endpoint: str = "AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL"

    @classmethod
    def default_chain(cls) -> CredentialNames:
        """No key in the environment: boto3 took credentials from a profile, SSO or an instance role."""
        where = "the credentials boto3 found (AWS_PROFILE / ~/.aws/credentials / SSO / instance role)"
        return cls(access_key_id=where, secret_access_key=where, session_token=where)

    @classmethod
    def airflow(cls, conn_id: str) -> CredentialNames:
        """The fields of an Airflow AWS connection (S3Hook falls back to the AWS_* variables without one)."""
        conn = f"Airflow connection {conn_id!r}"
        return cls(
            access_key_id=f"the login (access key ID) of {conn}",
            secret_access_key=f"the password (secret access key) of {conn}",
            session_token=f"the extra 'aws_session_token' of {conn}",
            endpoint=f"the extra 'endpoint_url' of {conn}",
        )


class S3Connection(BaseModel):
    """Where and as whom to reach S3. None means boto3's default for that part (its credential chain,
    AWS's endpoint, the configured region)."""

    model_config = ConfigDict(frozen=True)

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    retries: int = 5
    """boto3's own retries after the first try (standard mode: throttling, 5xx, resets) before an error
    reaches the pipeline's classification."""
    names: CredentialNames = CredentialNames()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Connection:
        """The standard AWS variables, read the way boto3 reads them."""
        env = os.environ if env is None else env
        key_id = env.get("AWS_ACCESS_KEY_ID") or None
        secret = env.get("AWS_SECRET_ACCESS_KEY") or None
        token = env.get("AWS_SESSION_TOKEN") or None
        return cls(
            endpoint_url=next((env[v] for v in _ENDPOINT_VARIABLES if env.get(v)), None),
            region=next((env[v] for v in _REGION_VARIABLES if env.get(v)), None),
            access_key_id=key_id,
            secret_access_key=SecretStr(secret) if secret else None,
            session_token=SecretStr(token) if token else None,
            names=CredentialNames() if key_id or secret else CredentialNames.default_chain(),
        )


def make_client(conn: S3Connection) -> S3Client:
    import boto3
    from botocore.config import Config

    def reveal(secret: SecretStr | None) -> str | None:
        return secret.get_secret_value() if secret else None

    # boto3's default session: its loader caches the S3 service model across clients.
    return boto3.client(
        "s3",
        endpoint_url=conn.endpoint_url,
        region_name=conn.region,
        aws_access_key_id=conn.access_key_id,
        aws_secret_access_key=reveal(conn.secret_access_key),
        aws_session_token=reveal(conn.session_token),
        # SigV4 everywhere, pre-signed URLs included (older botocore presigns with SigV2 by default).
        config=Config(retries={"max_attempts": conn.retries, "mode": "standard"}, signature_version="s3v4"),
    )
