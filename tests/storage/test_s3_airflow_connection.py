"""The Airflow edge: `aws_default` becomes an S3Store whose errors name the connection's fields."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest

from pipeline.errors import StorageAccessError
from pipeline.storage import S3Location
from tests.storage.conftest import IamUser


def test_the_aws_connection_reaches_its_endpoint_and_errors_name_its_fields(
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
    bucket: str,
    enforce_iam: Callable[[list[str]], IamUser],
) -> None:
    from pipeline.airflow.connections import s3_store

    user = enforce_iam(["s3:ListBucket"])
    uri = f"aws://{user.access_key_id}:wrong-secret@/?endpoint_url={quote(moto_endpoint, safe='')}"
    monkeypatch.setenv("AIRFLOW_CONN_STORAGE_TEST", uri)
    store = s3_store("storage_test")
    assert store.client.meta.endpoint_url == moto_endpoint
    with pytest.raises(StorageAccessError) as info:
        store.get_bytes(S3Location(bucket, "media/a.mp4"))
    assert info.value.credential == "the password (secret access key) of Airflow connection 'storage_test'"
    assert "wrong-secret" not in str(info.value)


def test_without_the_connection_errors_name_the_aws_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.airflow.connections import s3_store

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    assert s3_store("no_such_connection").names.secret_access_key == "AWS_SECRET_ACCESS_KEY"
