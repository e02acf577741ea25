"""Refused credentials and permissions, as moto with IAM enforced answers them: each call ends as a
StorageAccessError (terminal, never retried) whose message names the object, the IAM action and what to
fix, and never contains a secret."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from pydantic import SecretStr

from pipeline.errors import ConfigError, StorageAccessError, TransientError
from pipeline.storage import CredentialNames, S3Location, S3Store
from tests.storage.conftest import IamUser, connection

LIST_ONLY = ["s3:ListBucket"]


def _store(endpoint: str, user: IamUser, **overrides: object) -> S3Store:
    secret = SecretStr(user.secret_access_key)
    return S3Store(
        connection=connection(
            endpoint, access_key_id=user.access_key_id, secret_access_key=secret, **overrides
        )
    )


def _refused(call: Callable[[], object], *, from_boto: bool = True) -> StorageAccessError:
    with pytest.raises(StorageAccessError) as info:
        call()
    err = info.value
    assert isinstance(err, ConfigError) and not isinstance(err, TransientError)
    if from_boto:  # the boto error is kept for the traceback
        assert isinstance(err.__cause__, Exception)
    return err


def _assert_policy_refusal(err: StorageAccessError, uri: str, action: str, bucket: str) -> None:
    text = str(err)
    assert uri in text
    assert action in text
    assert "AWS_ACCESS_KEY_ID" in text
    assert f"bucket policy of {bucket!r}" in text
    assert err.credential == f"the IAM or bucket policy granting {action} on arn:aws:s3:::{uri[5:]}"


def test_a_list_only_user_lists_but_every_object_call_is_refused_naming_the_action(
    moto_endpoint: str, bucket: str, enforce_iam: Callable[[list[str]], IamUser], tmp_path: Path
) -> None:
    store = _store(moto_endpoint, enforce_iam(LIST_ONLY))
    obj = S3Location(bucket, "media/a.mp4")
    assert sorted(o["Key"] for o in store.list(S3Location(bucket, "media"))) == ["media/a.mp4", "media/b.mp4"]

    # HEAD: the answer has no body, so the code is the bare status. A refused HEAD is not "missing".
    err = _refused(lambda: store.exists(obj))
    _assert_policy_refusal(err, obj.uri, "s3:GetObject", bucket)
    assert err.code == "403" and err.http_status == 403
    assert f"s3:ListBucket on {bucket!r}" in str(err)  # why a missing key can answer 403 too
    assert "AWS_SECRET_ACCESS_KEY pair answers the same 403" in str(err)

    err = _refused(lambda: store.get_bytes(obj))
    _assert_policy_refusal(err, obj.uri, "s3:GetObject", bucket)
    assert err.code == "AccessDenied" and str(err).startswith(f"reading {obj.uri}: S3 answered AccessDenied")

    err = _refused(lambda: store.get_json_or_none(S3Location(bucket, "media/manifest.json")))
    _assert_policy_refusal(err, f"s3://{bucket}/media/manifest.json", "s3:GetObject", bucket)

    err = _refused(lambda: store.download(obj, tmp_path / "a.mp4"))
    _assert_policy_refusal(err, obj.uri, "s3:GetObject", bucket)
    assert str(err).startswith(f"downloading {obj.uri}")

    err = _refused(lambda: store.sha256(obj))
    _assert_policy_refusal(err, obj.uri, "s3:GetObject", bucket)

    err = _refused(lambda: store.put_bytes(S3Location(bucket, "out/x.json"), b"{}"))
    _assert_policy_refusal(err, f"s3://{bucket}/out/x.json", "s3:PutObject", bucket)
    assert str(err).startswith(f"writing s3://{bucket}/out/x.json")

    err = _refused(lambda: store.delete(obj))
    _assert_policy_refusal(err, obj.uri, "s3:DeleteObject", bucket)


def test_refused_uploads_are_classified_from_the_error_boto3_wraps(
    moto_endpoint: str, bucket: str, enforce_iam: Callable[[list[str]], IamUser], tmp_path: Path
) -> None:
    store = _store(moto_endpoint, enforce_iam(LIST_ONLY))
    small = tmp_path / "small.bin"
    small.write_bytes(b"x" * 1024)
    large = tmp_path / "large.bin"  # over boto3's 8 MB threshold: a multipart upload
    large.write_bytes(b"x" * (9 * 1024 * 1024))
    for path in (small, large):
        dest = S3Location(bucket, f"_staging/{path.name}")
        err = _refused(lambda: store.upload(path, dest))  # noqa: B023 - called at once
        assert type(err.__cause__).__name__ == "S3UploadFailedError"
        assert str(err).startswith(f"uploading {path} to {dest.uri}: S3 answered AccessDenied")
        _assert_policy_refusal(err, dest.uri, "s3:PutObject", bucket)


def test_a_delete_refused_per_key_raises_although_s3_answered_200(
    moto_endpoint: str, bucket: str, enforce_iam: Callable[[list[str]], IamUser]
) -> None:
    store = _store(moto_endpoint, enforce_iam(LIST_ONLY))
    err = _refused(lambda: store.delete_prefix(S3Location(bucket, "media")), from_boto=False)
    assert err.http_status is None  # no HTTP error: the refusal was inside a 200 answer
    text = str(err)
    assert text.startswith(
        f"deleting 2 objects under s3://{bucket}/media: 2 refused, the first s3://{bucket}/media/"
    )
    assert "s3:DeleteObject" in text and "AWS_ACCESS_KEY_ID" in text
    assert sorted(o["Key"] for o in store.list(S3Location(bucket, "media"))) == ["media/a.mp4", "media/b.mp4"]


def test_a_wrong_secret_names_the_secret_variable_and_never_shows_it(
    moto_endpoint: str, bucket: str, enforce_iam: Callable[[list[str]], IamUser]
) -> None:
    user = enforce_iam(LIST_ONLY)
    wrong = "wrong-secret-value-do-not-print"
    store = _store(moto_endpoint, IamUser(user.access_key_id, wrong))
    err = _refused(lambda: list(store.list(S3Location(bucket, "media"))))
    assert err.code == "SignatureDoesNotMatch" and err.credential == "AWS_SECRET_ACCESS_KEY"
    text = str(err)
    assert text.startswith(f"listing prefix 'media/' of s3://{bucket}: S3 answered SignatureDoesNotMatch")
    assert (
        "the secret in AWS_SECRET_ACCESS_KEY does not belong to the access key ID in AWS_ACCESS_KEY_ID"
        in text
    )
    assert wrong not in text and user.secret_access_key not in text


def test_an_unknown_access_key_names_the_key_id_variable(
    moto_endpoint: str, bucket: str, enforce_iam: Callable[[list[str]], IamUser]
) -> None:
    enforce_iam(LIST_ONLY)
    store = _store(moto_endpoint, IamUser("AKIAUNKNOWN000000000", "whatever"))
    err = _refused(lambda: store.put_bytes(S3Location(bucket, "x"), b""))
    assert err.code == "InvalidAccessKeyId" and err.credential == "AWS_ACCESS_KEY_ID"
    assert "S3 does not know the access key ID in AWS_ACCESS_KEY_ID" in str(err)
    assert f"owns {bucket!r}" in str(err)


def test_through_an_airflow_connection_the_message_names_its_fields(
    moto_endpoint: str, bucket: str, enforce_iam: Callable[[list[str]], IamUser]
) -> None:
    import boto3

    user = enforce_iam(LIST_ONLY)
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=user.access_key_id,
        aws_secret_access_key="not-the-secret",
    )
    store = S3Store(client=client, names=CredentialNames.airflow("aws_default"))
    err = _refused(lambda: store.get_bytes(S3Location(bucket, "media/a.mp4")))
    assert err.credential == "the password (secret access key) of Airflow connection 'aws_default'"
    assert "the login (access key ID) of Airflow connection 'aws_default'" in str(err)
    assert "AWS_SECRET_ACCESS_KEY" not in str(err)


def test_missing_credentials_say_which_variables_to_set(moto_endpoint: str) -> None:
    store = S3Store(connection=connection(moto_endpoint, access_key_id=None, secret_access_key=None))
    err = _refused(lambda: store.get_bytes(S3Location("some-bucket", "k")))
    assert err.code == "NoCredentialsError"
    assert err.credential == "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    assert str(err) == (
        "reading s3://some-bucket/k: no AWS credentials found: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (or an AWS profile or instance role)"
    )


def test_a_key_id_without_its_secret_names_the_missing_secret(moto_endpoint: str) -> None:
    store = S3Store(connection=connection(moto_endpoint, access_key_id="AKIAEXAMPLE", secret_access_key=None))
    err = _refused(lambda: store.put_bytes(S3Location("some-bucket", "k"), b""))
    assert err.code == "PartialCredentialsError" and err.credential == "AWS_SECRET_ACCESS_KEY"
    assert "aws_secret_access_key is missing): set AWS_SECRET_ACCESS_KEY" in str(err)
    assert "AKIAEXAMPLE" not in str(err)


def test_an_expired_session_token_names_all_three_variables(moto_endpoint: str) -> None:
    # moto does not expire tokens; the rule is the same table, so one code from a real answer shape.
    from pipeline.storage.s3_errors import S3Call, translate

    expired = ClientError(
        {"Error": {"Code": "ExpiredToken", "Message": "The provided token has expired."}}, "GetObject"
    )
    err = translate(expired, S3Call("reading", "s3:GetObject", "b", "k"), CredentialNames())
    assert isinstance(err, StorageAccessError) and err.credential == "AWS_SESSION_TOKEN"
    assert str(err) == (
        "reading s3://b/k: S3 answered ExpiredToken (The provided token has expired.): the session token in "
        "AWS_SESSION_TOKEN is expired or invalid: refresh the temporary credentials (AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN together)"
    )
