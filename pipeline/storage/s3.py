"""The S3 client: every S3 call of the pipeline goes through `S3Store`, and each one translates its
failures into the error tree (pipeline/storage/s3_errors.py) before they leave. Endpoint, region and
credentials come from an `S3Connection` resolved at the edge, or from the standard AWS variables
(`AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...), so moto, MinIO and AWS are the
same code path."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline.errors import (
    BucketNotFoundError,
    ConfigError,
    ObjectNotFoundError,
    PipelineError,
    WriteConflictError,
)
from pipeline.storage.connection import CredentialNames, S3Connection, make_client
from pipeline.storage.s3_errors import TRANSLATED, S3Call, classify_code, translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ErrorTypeDef

_DELETE_BATCH = 1000  # DeleteObjects' limit
# SigV4 query authentication: X-Amz-Expires may be at most 7 days.
PRESIGN_MAX_EXPIRES_S = 7 * 24 * 3600


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


def _as_prefix(key: str) -> str:
    """A key prefix as a folder: "a/b" and "a/b/" -> "a/b/"; "" (the whole bucket) stays ""."""
    return key.rstrip("/") + "/" if key else ""


def _folders(key: str) -> set[str]:
    """Every folder prefix of a key: "a/b/c.mp4" -> {"a/", "a/b/"}."""
    parts = key.split("/")[:-1]
    return {"/".join(parts[: n + 1]) + "/" for n in range(len(parts))}


@dataclass(frozen=True)
class Leases:
    """Lease objects `<prefix>/<folder>/<holder>` that keep a prefix from `S3Store.delete_under` while a
    holder other than `own` uses it; one not rewritten for `stale_s` belongs to a holder that died."""

    folder: str
    own: str
    stale_s: float

    def is_own(self, key: str) -> bool:
        return key.endswith(f"/{self.folder}/{self.own}")

    def held_by_others(self, listed: Iterable[dict[str, Any]], now: datetime | None = None) -> set[str]:
        """The prefixes (with their '/') that a live lease of another holder keeps."""
        now = now or datetime.now(UTC)
        marker = f"/{self.folder}/"
        held: set[str] = set()
        for obj in listed:
            key = str(obj["Key"])
            prefix, found, holder = key.rpartition(marker)
            if not found or "/" in holder or holder == self.own:
                continue
            modified = obj.get("LastModified")
            if isinstance(modified, datetime) and (now - modified).total_seconds() > self.stale_s:
                continue
            held.add(prefix + "/")
        return held


class S3Store:
    """Typed wrapper over one boto3 S3 client; its methods raise the project's errors only.

    `S3Store(connection=...)` reaches S3 as the edge resolved it; `S3Store(client=..., names=...)` wraps a
    client made elsewhere (Airflow's S3Hook); `S3Store()` reads the AWS variables at its first call."""

    def __init__(
        self,
        client: S3Client | None = None,
        *,
        connection: S3Connection | None = None,
        names: CredentialNames | None = None,
    ) -> None:
        self._client, self._connection, self._names = client, connection, names

    @cached_property
    def connection(self) -> S3Connection:
        # Read at first use, not at construction: the demo and the tests export the embedded S3's
        # variables after stores are created.
        return self._connection or S3Connection.from_env()

    @property
    def names(self) -> CredentialNames:
        """Where this store's credentials are set, as its error messages name them."""
        if self._names is not None:
            return self._names
        return CredentialNames() if self._client is not None else self.connection.names

    @cached_property
    def client(self) -> S3Client:
        if self._client is not None:
            return self._client
        return make_client(self.connection)

    @contextmanager
    def _translated(self, call: S3Call) -> Iterator[None]:
        try:
            yield
        except TRANSLATED as exc:
            raise translate(exc, call, self.names) from exc

    # buckets and listings -----------------------------------------------------------------------
    def ensure_bucket(self, bucket: str) -> None:
        try:
            with self._translated(S3Call("checking bucket", "s3:ListBucket", bucket)):
                self.client.head_bucket(Bucket=bucket)
            return
        except BucketNotFoundError:
            pass
        with self._translated(S3Call("creating bucket", "s3:CreateBucket", bucket)):
            try:
                self.client.create_bucket(Bucket=bucket)
            except ClientError as exc:  # another worker created it in between
                if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise

    def list(self, loc: S3Location) -> Iterator[dict[str, Any]]:
        """Objects under a prefix: dicts with Key, Size, ETag, LastModified."""
        yield from self._listing(loc.bucket, _as_prefix(loc.key))

    def _listing(self, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
        """Objects whose key starts with `prefix`, a plain string (no '/' added)."""
        # Pages are fetched while the caller iterates, so their errors arrive here too.
        with self._translated(S3Call(f"listing prefix {prefix!r} of", "s3:ListBucket", bucket)):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    yield dict(obj)

    # reading ------------------------------------------------------------------------------------
    def head(self, loc: S3Location) -> dict[str, Any] | None:
        """The object's metadata, or None when there is no such key."""
        try:
            with self._translated(S3Call("reading", "s3:GetObject", loc.bucket, loc.key)):
                return dict(self.client.head_object(Bucket=loc.bucket, Key=loc.key))
        except ObjectNotFoundError:
            return None

    def exists(self, loc: S3Location) -> bool:
        return self.head(loc) is not None

    def get_bytes(self, loc: S3Location, byte_range: tuple[int, int] | None = None) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key}
        if byte_range:
            kwargs["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        with self._translated(S3Call("reading", "s3:GetObject", loc.bucket, loc.key)):
            return self.client.get_object(**kwargs)["Body"].read()

    def download(self, loc: S3Location, path: Path) -> str:
        """Stream an object to a file; returns its sha256 (hashing while writing, one read)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with self._translated(S3Call("downloading", "s3:GetObject", loc.bucket, loc.key)):
            body = self.client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
            with path.open("wb") as fh:
                for block in iter(lambda: body.read(1 << 20), b""):
                    digest.update(block)
                    fh.write(block)
        return digest.hexdigest()

    def sha256(self, loc: S3Location) -> str:
        digest = hashlib.sha256()
        with self._translated(S3Call("reading", "s3:GetObject", loc.bucket, loc.key)):
            body = self.client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
            for block in iter(lambda: body.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def get_json(self, loc: S3Location) -> Any:
        return json.loads(self.get_bytes(loc))

    def get_json_or_none(self, loc: S3Location) -> Any | None:
        """The document, or None when there is no such key (one GET, no HEAD first)."""
        try:
            return self.get_json(loc)
        except ObjectNotFoundError:
            return None

    def get_json_versioned(self, loc: S3Location) -> tuple[Any | None, str | None]:
        """The document and its ETag (for `put_json_if_match`), or (None, None) when there is no such key."""
        try:
            with self._translated(S3Call("reading", "s3:GetObject", loc.bucket, loc.key)):
                answer = self.client.get_object(Bucket=loc.bucket, Key=loc.key)
                return json.loads(answer["Body"].read()), str(answer["ETag"])
        except ObjectNotFoundError:
            return None, None

    def presign_get(self, loc: S3Location, expires_s: int, *, within: S3Location) -> str:
        """A pre-signed GET URL of one object, for a service that fetches it itself (Gemini 3.x).

        The URL is a bearer credential: only keys under `within` (the staging prefix the caller names)
        are ever signed, the expiry is bounded by SigV4's 7 days, and callers log it only through
        `pipeline.storage.redact`."""
        prefix = within.key.rstrip("/") + "/"
        if loc.bucket != within.bucket or not loc.key.startswith(prefix) or ".." in loc.key.split("/"):
            raise ConfigError(
                f"refusing to sign {loc.uri}: only objects under {within.uri}/ may be handed out by URL"
            )
        if not 0 < expires_s <= PRESIGN_MAX_EXPIRES_S:
            raise ConfigError(f"a pre-signed URL must expire within 1 s to 7 days (SigV4), not {expires_s} s")
        with self._translated(S3Call("signing a GET URL for", "s3:GetObject", loc.bucket, loc.key)):
            url = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": loc.bucket, "Key": loc.key}, ExpiresIn=expires_s
            )
        if "X-Amz-Signature=" not in url:  # a client configured for SigV2 signs another way
            raise ConfigError(
                f"the S3 client signed {loc.uri} without SigV4 (configure signature_version='s3v4')"
            )
        return url

    # writing ------------------------------------------------------------------------------------
    def put_bytes(self, loc: S3Location, data: bytes, content_type: str = "application/octet-stream") -> None:
        with self._translated(S3Call("writing", "s3:PutObject", loc.bucket, loc.key)):
            self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data, ContentType=content_type)

    def put_json(self, loc: S3Location, doc: Any) -> None:
        self.put_bytes(loc, json.dumps(doc, indent=1, default=str).encode(), "application/json")

    # conditional writes: who wins a race is decided by S3, in one request -----------------------------
    def put_json_if_absent(self, loc: S3Location, doc: Any) -> str | None:
        """Create the object only if no object has that key (`If-None-Match: *`): its new ETag, or None
        when another writer created it first (re-read it and adopt or wait)."""
        try:
            return self._put_conditional(loc, doc, if_none_match=True)
        except WriteConflictError:
            return None

    def put_json_if_match(self, loc: S3Location, doc: Any, etag: str) -> str | None:
        """Replace the object only if it is still the version read (`If-Match: <etag>`): its new ETag, or
        None when another writer replaced or deleted it since (re-read it and decide again)."""
        try:
            return self._put_conditional(loc, doc, if_match=etag)
        except (WriteConflictError, ObjectNotFoundError):  # S3 answers 404 to If-Match on a deleted key
            return None

    def _put_conditional(
        self, loc: S3Location, doc: Any, *, if_none_match: bool = False, if_match: str | None = None
    ) -> str:
        body = json.dumps(doc, indent=1, default=str).encode()
        with self._translated(S3Call("conditionally writing", "s3:PutObject", loc.bucket, loc.key)):
            if if_match is not None:
                answer = self.client.put_object(
                    Bucket=loc.bucket,
                    Key=loc.key,
                    Body=body,
                    ContentType="application/json",
                    IfMatch=if_match,
                )
            else:
                assert if_none_match, "a conditional write names its condition"
                answer = self.client.put_object(
                    Bucket=loc.bucket, Key=loc.key, Body=body, ContentType="application/json", IfNoneMatch="*"
                )
        return str(answer["ETag"])

    def upload(self, path: Path, loc: S3Location) -> None:
        """A local file, in parts when it is large (boto3's transfer manager)."""
        with self._translated(S3Call(f"uploading {path} to", "s3:PutObject", loc.bucket, loc.key)):
            self.client.upload_file(str(path), loc.bucket, loc.key)

    # deleting -----------------------------------------------------------------------------------
    def delete(self, loc: S3Location) -> None:
        """Delete one object (S3 answers success for a key that is already gone)."""
        with self._translated(S3Call("deleting", "s3:DeleteObject", loc.bucket, loc.key)):
            self.client.delete_object(Bucket=loc.bucket, Key=loc.key)

    def delete_prefix(self, loc: S3Location) -> int:
        """Delete every object under a prefix; returns how many. Raises if S3 refused any of them."""
        return self.delete_keys(loc, [obj["Key"] for obj in self.list(loc)])

    def delete_under(
        self, within: S3Location, prefixes: Collection[S3Location], leases: Leases | None = None
    ) -> int:
        """Delete every object under any of `prefixes` (each a prefix inside `within`) with one listing
        of their longest common prefix and DeleteObjects of up to 1,000 keys a request, where deleting
        prefix by prefix would LIST and DELETE once per prefix. An object under none of them stays,
        whatever else the listing shows. With `leases`, a prefix another holder still leases keeps
        everything but the caller's own lease. Returns how many were deleted; raises if S3 refused any."""
        wanted = {_as_prefix(loc.key) for loc in prefixes}
        root = _as_prefix(within.key)
        for loc in prefixes:
            if loc.bucket != within.bucket or not loc.key.startswith(root) or ".." in loc.key.split("/"):
                raise ConfigError(
                    f"refusing to delete under {loc.uri}: it is not a prefix inside {within.uri}/"
                )
        if not wanted:
            return 0
        listed = [
            obj
            for obj in self._listing(within.bucket, os.path.commonprefix(sorted(wanted)))
            if not wanted.isdisjoint(_folders(obj["Key"]))
        ]
        shared = leases.held_by_others(listed) if leases is not None else set()
        doomed = [
            obj["Key"]
            for obj in listed
            if shared.isdisjoint(_folders(obj["Key"])) or (leases is not None and leases.is_own(obj["Key"]))
        ]
        return self.delete_keys(within, doomed)

    def delete_keys(self, loc: S3Location, keys: Sequence[str]) -> int:
        """Delete these keys of `loc`'s bucket (named in errors as under `loc`), 1,000 per request;
        returns how many. Raises if S3 refused any of them."""
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            with self._translated(S3Call("deleting objects under", "s3:DeleteObject", loc.bucket, loc.key)):
                answer = self.client.delete_objects(
                    Bucket=loc.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                )
            # DeleteObjects answers 200 even when it deleted nothing: refusals are listed per key.
            if failures := answer.get("Errors"):
                raise self._refused_deletes(loc, failures, len(batch))
        return len(keys)

    def _refused_deletes(
        self, loc: S3Location, failures: Sequence[ErrorTypeDef], tried: int
    ) -> PipelineError:
        first = failures[0]
        doing = f"deleting {tried} objects under {loc.uri}: {len(failures)} refused, the first"
        call = S3Call(doing, "s3:DeleteObject", loc.bucket, first.get("Key", ""))
        return classify_code(first.get("Code", ""), None, first.get("Message", ""), call, self.names)
