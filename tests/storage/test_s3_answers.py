"""What S3 answers besides refusals: throttling, 5xx and dropped connections are transient (retry); a
missing bucket is a configuration error; a missing key is None where absence is normal and an error
where it is not; a code no rule knows is terminal, never retried blindly; a partial delete raises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from pipeline.errors import (
    BucketNotFoundError,
    ConfigError,
    ObjectNotFoundError,
    StorageAccessError,
    StorageTransientError,
    TerminalError,
    TransientError,
    UnclassifiedStorageError,
)
from pipeline.storage import S3Connection, S3Location, S3Store
from tests.storage.conftest import Answer, connection

OBJ = S3Location("media-inbox", "incoming/dt=2026-11-30/a.mp4")


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (503, "SlowDown", "Please reduce your request rate."),
        (503, "ServiceUnavailable", "Service is unable to handle request."),
        (500, "InternalError", "We encountered an internal error. Please try again."),
        (400, "RequestTimeout", "Your socket connection to the server was not read from or written to."),
        (400, "ThrottlingException", "Rate exceeded"),
    ],
)
def test_throttling_and_server_errors_are_transient(
    scripted_s3: tuple[str, Answer], status: int, code: str, message: str
) -> None:
    endpoint, answer = scripted_s3
    answer.status, answer.code, answer.message = status, code, message
    store = S3Store(connection=connection(endpoint))
    with pytest.raises(StorageTransientError) as info:
        store.get_bytes(OBJ)
    assert (
        str(info.value)
        == f"reading {OBJ.uri}: S3 answered {code} ({message}): throttled or unavailable, retry later"
    )
    assert info.value.http_status == status
    assert isinstance(info.value.__cause__, ClientError)
    assert answer.seen == [f"GET /{OBJ.bucket}/{quote(OBJ.key)}"]  # the real client, one try (retries=0)


def test_a_bodyless_503_on_head_is_transient_not_missing(scripted_s3: tuple[str, Answer]) -> None:
    endpoint, answer = scripted_s3
    store = S3Store(connection=connection(endpoint))
    with pytest.raises(StorageTransientError) as info:
        store.head(OBJ)
    assert str(info.value).startswith(f"reading {OBJ.uri}: S3 answered 503")
    assert answer.seen == [f"HEAD /{OBJ.bucket}/{quote(OBJ.key)}"]


def test_errors_of_later_listing_pages_arrive_classified_during_iteration(
    scripted_s3: tuple[str, Answer],
) -> None:
    endpoint, answer = scripted_s3
    first_page = (
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>media-inbox</Name>'
        "<Prefix>incoming/</Prefix><KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>page-2</NextContinuationToken><Contents><Key>incoming/a.mp4</Key>"
        "<Size>3</Size><ETag>&quot;e&quot;</ETag><LastModified>2026-11-30T00:00:00.000Z</LastModified>"
        "</Contents></ListBucketResult>"
    )
    answer.ok_first.append(first_page.encode())
    listing = S3Store(connection=connection(endpoint)).list(S3Location("media-inbox", "incoming"))
    assert next(listing)["Key"] == "incoming/a.mp4"
    with pytest.raises(
        StorageTransientError, match=r"^listing prefix 'incoming/' of s3://media-inbox: S3 answered SlowDown"
    ):
        next(listing)
    assert len(answer.seen) == 2 and "continuation-token=page-2" in answer.seen[1]


def test_uploads_and_deletes_that_meet_a_503_are_transient(
    scripted_s3: tuple[str, Answer], tmp_path: Path
) -> None:
    endpoint, _ = scripted_s3
    store = S3Store(connection=connection(endpoint))
    path = tmp_path / "chunk.mp4"
    path.write_bytes(b"x" * 100)
    with pytest.raises(StorageTransientError, match=rf"^uploading {path} to {OBJ.uri}: S3 answered SlowDown"):
        store.upload(path, OBJ)
    with pytest.raises(StorageTransientError, match=rf"^deleting {OBJ.uri}: S3 answered SlowDown"):
        store.delete(OBJ)


def test_a_dropped_connection_is_transient(scripted_s3: tuple[str, Answer]) -> None:
    endpoint, answer = scripted_s3
    answer.drop_connection = True
    with pytest.raises(StorageTransientError) as info:
        S3Store(connection=connection(endpoint)).put_bytes(OBJ, b"{}")
    text = str(info.value)
    assert text.startswith(f"writing {OBJ.uri}: S3 did not answer (")
    assert "retry later, and check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL if it persists" in text


def test_no_server_at_the_endpoint_is_transient_and_names_the_endpoint_setting() -> None:
    from tests.storage.conftest import _free_port

    endpoint = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    with pytest.raises(StorageTransientError) as info:
        S3Store(connection=connection(endpoint)).get_bytes(OBJ)
    assert str(info.value).startswith(f"reading {OBJ.uri}: S3 did not answer (EndpointConnectionError: ")
    assert endpoint in str(info.value) and "AWS_ENDPOINT_URL_S3" in str(info.value)


def test_a_code_no_rule_knows_fails_without_retry_keeping_the_original(
    scripted_s3: tuple[str, Answer],
) -> None:
    endpoint, answer = scripted_s3
    answer.status, answer.code, answer.message = 400, "BrandNewS3Error", "Something S3 invented"
    with pytest.raises(UnclassifiedStorageError) as info:
        S3Store(connection=connection(endpoint)).get_bytes(OBJ)
    err = info.value
    assert isinstance(err, TerminalError) and not isinstance(err, TransientError)
    assert err.code == "BrandNewS3Error" and err.http_status == 400
    assert str(err) == (
        f"reading {OBJ.uri}: S3 answered BrandNewS3Error (Something S3 invented): no rule classifies this "
        "failure, so it fails the task instead of being retried (classify it in pipeline/storage/s3_errors.py "
        "once it is understood)"
    )
    assert isinstance(err.__cause__, ClientError)
    assert err.__cause__.response["Error"]["Code"] == "BrandNewS3Error"


def test_a_missing_bucket_is_a_config_error_naming_it(admin: S3Store) -> None:
    missing = S3Location("no-such-bucket-here", "results/x.json")
    for call in (
        lambda: list(admin.list(missing)),
        lambda: admin.put_json(missing, {}),
        lambda: admin.get_bytes(missing),
        lambda: admin.delete_prefix(missing),
    ):
        with pytest.raises(BucketNotFoundError) as info:
            call()
        assert isinstance(info.value, ConfigError) and info.value.bucket == "no-such-bucket-here"
        assert "bucket 'no-such-bucket-here' does not exist (S3 answered NoSuchBucket" in str(info.value)
        assert "check the bucket in the source/dest settings" in str(info.value)


def test_ensure_bucket_creates_a_missing_bucket_once(admin: S3Store) -> None:
    admin.ensure_bucket("storage-ensure-twice")
    admin.ensure_bucket("storage-ensure-twice")
    admin.put_bytes(S3Location("storage-ensure-twice", "k"), b"1")
    assert admin.get_bytes(S3Location("storage-ensure-twice", "k")) == b"1"


def test_a_missing_key_is_none_where_absence_is_normal_and_an_error_where_it_is_not(
    admin: S3Store, bucket: str, tmp_path: Path
) -> None:
    gone = S3Location(bucket, "media/gone.mp4")
    assert admin.head(gone) is None and not admin.exists(gone)
    assert admin.get_json_or_none(S3Location(bucket, "manifest.json")) is None
    admin.put_json(S3Location(bucket, "manifest.json"), {"run": 1})
    assert admin.get_json_or_none(S3Location(bucket, "manifest.json")) == {"run": 1}
    for call in (
        lambda: admin.get_bytes(gone),
        lambda: admin.download(gone, tmp_path / "g"),
        lambda: admin.sha256(gone),
    ):
        with pytest.raises(ObjectNotFoundError) as info:
            call()
        assert isinstance(info.value, TerminalError) and (info.value.bucket, info.value.key) == (
            bucket,
            gone.key,
        )
        assert f"no object at {gone.uri} (S3 answered NoSuchKey" in str(info.value)


def test_a_partial_delete_raises_naming_the_refused_key_and_deletes_the_rest(
    admin: S3Store, bucket: str, deny_delete: Callable[[str, str], None]
) -> None:
    deny_delete(bucket, "media/b.mp4")  # DeleteObjects answers 200 and lists that key in Errors
    with pytest.raises(StorageAccessError) as info:
        admin.delete_prefix(S3Location(bucket, "media"))
    assert info.value.key == "media/b.mp4" and info.value.code == "AccessDenied"
    text = str(info.value)
    assert text.startswith(
        f"deleting 2 objects under s3://{bucket}/media: 1 refused, the first s3://{bucket}/media/b.mp4"
    )
    assert f"s3:DeleteObject on arn:aws:s3:::{bucket}/media/b.mp4" in text
    assert [o["Key"] for o in admin.list(S3Location(bucket, "media"))] == ["media/b.mp4"]


def test_delete_prefix_counts_what_it_deleted(admin: S3Store, bucket: str) -> None:
    assert admin.delete_prefix(S3Location(bucket, "media")) == 2
    assert list(admin.list(S3Location(bucket, "media"))) == []
    assert admin.delete_prefix(S3Location(bucket, "media")) == 0


def test_a_failure_outside_boto_propagates_as_itself(admin: S3Store, bucket: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        admin.upload(tmp_path / "never-written.mp4", S3Location(bucket, "x.mp4"))


def test_the_connection_from_the_environment_reads_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://generic:9000",
        "AWS_ENDPOINT_URL_S3": "http://minio:9000",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret-value",
    }
    conn = S3Connection.from_env(env)
    assert (conn.endpoint_url, conn.region, conn.access_key_id) == (
        "http://minio:9000",
        "eu-west-1",
        "AKIAEXAMPLE",
    )
    assert conn.secret_access_key is not None and conn.secret_access_key.get_secret_value() == "secret-value"
    assert conn.session_token is None
    assert "secret-value" not in repr(conn)
    assert conn.names.secret_access_key == "AWS_SECRET_ACCESS_KEY"
    # Without keys, boto3's chain finds them (profile, role): messages say so instead of naming a variable.
    assert "instance role" in S3Connection.from_env({}).names.access_key_id

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = S3Store()
    assert store.client.meta.endpoint_url == "http://minio:9000"
    assert store.client.meta.region_name == "eu-west-1"
