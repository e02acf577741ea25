"""The S3 client. boto3 reads endpoint, credentials and region from the standard AWS variables
(`AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...), so moto, MinIO and AWS are the
same code path."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from pipeline.errors import ConfigError, StorageTransientError

_TRANSIENT_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not uri.startswith("s3://"):
            raise ConfigError(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
        bucket, _, key = uri[5:].partition("/")
        if not bucket:
            raise ConfigError(f"S3 URI without a bucket: {uri!r}")
        return cls(bucket, key)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> S3Location:
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/"))
        return S3Location(self.bucket, key)


def _translate(exc: Exception, what: str) -> Exception:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _TRANSIENT_CODES:
            return StorageTransientError(f"{what}: S3 answered {code}; retry later")
        if code in {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return ConfigError(f"{what}: S3 answered {code}; check the bucket name and AWS credentials")
        return exc
    if isinstance(exc, EndpointConnectionError):
        return StorageTransientError(
            f"{what}: cannot reach S3 at {exc.kwargs.get('endpoint_url')}; is AWS_ENDPOINT_URL right?"
        )
    if isinstance(exc, BotoCoreError):
        return StorageTransientError(f"{what}: {exc}")
    return exc


class S3Store:
    """Thin typed wrapper over one boto3 S3 client."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @cached_property
    def client(self) -> Any:
        if self._client is not None:
            return self._client
        return boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}))

    def ensure_bucket(self, bucket: str) -> None:
        try:
            self.client.head_bucket(Bucket=bucket)
        except ClientError:
            self.client.create_bucket(Bucket=bucket)

    def list(self, loc: S3Location) -> Iterator[dict[str, Any]]:
        """Objects under a prefix: dicts with Key, Size, ETag, LastModified."""
        prefix = loc.key.rstrip("/") + "/" if loc.key else ""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=loc.bucket, Prefix=prefix
            ):
                yield from page.get("Contents", [])
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"listing {loc.uri}") from exc

    def head(self, loc: S3Location) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=loc.bucket, Key=loc.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise _translate(exc, f"reading {loc.uri}") from exc

    def exists(self, loc: S3Location) -> bool:
        return self.head(loc) is not None

    def get_bytes(self, loc: S3Location, byte_range: tuple[int, int] | None = None) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key}
        if byte_range:
            kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        try:
            return self.client.get_object(**kwargs)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"reading {loc.uri}") from exc

    def download(self, loc: S3Location, path: Path) -> str:
        """Stream an object to a file; returns its sha256 (hashing while writing, one read)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            body = self.client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
            with path.open("wb") as fh:
                for block in iter(lambda: body.read(1 << 20), b""):
                    digest.update(block)
                    fh.write(block)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"downloading {loc.uri}") from exc
        return digest.hexdigest()

    def sha256(self, loc: S3Location) -> str:
        digest = hashlib.sha256()
        try:
            body = self.client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
            for block in iter(lambda: body.read(1 << 20), b""):
                digest.update(block)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"reading {loc.uri}") from exc
        return digest.hexdigest()

    def put_bytes(self, loc: S3Location, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"writing {loc.uri}") from exc

    def upload(self, path: Path, loc: S3Location) -> None:
        try:
            self.client.upload_file(str(path), loc.bucket, loc.key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, f"uploading {path} to {loc.uri}") from exc

    def put_json(self, loc: S3Location, doc: Any) -> None:
        self.put_bytes(loc, json.dumps(doc, indent=1, default=str).encode(), "application/json")

    def get_json(self, loc: S3Location) -> Any:
        return json.loads(self.get_bytes(loc))

    def get_json_or_none(self, loc: S3Location) -> Any | None:
        if not self.exists(loc):
            return None
        return self.get_json(loc)

    def delete_prefix(self, loc: S3Location) -> int:
        keys = [obj["Key"] for obj in self.list(loc)]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=loc.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(keys)
