"""Conditional writes against moto's real S3 server over HTTP: `If-None-Match: *` creates once,
`If-Match: <etag>` replaces only the version read, and a lost race is a `WriteConflictError` the caller
handles (the put_json_if_* helpers answer None), neither transient nor terminal."""

from __future__ import annotations

import pytest

from pipeline.errors import TerminalError, TransientError, WriteConflictError
from pipeline.storage import S3Location, S3Store
from tests.storage.conftest import Answer, connection


def test_if_none_match_creates_once_and_the_loser_sees_the_winner(admin: S3Store, bucket: str) -> None:
    loc = S3Location(bucket, "_ledger/batches/g1.json")
    first = admin.put_json_if_absent(loc, {"run": "a"})
    assert first is not None
    assert admin.put_json_if_absent(loc, {"run": "b"}) is None
    doc, etag = admin.get_json_versioned(loc)
    assert doc == {"run": "a"} and etag == first


def test_if_match_replaces_only_the_version_read(admin: S3Store, bucket: str) -> None:
    loc = S3Location(bucket, "_commits/dt=2026-12-02.json")
    assert admin.get_json_versioned(loc) == (None, None)
    etag = admin.put_json_if_absent(loc, {"v": 1})
    assert etag is not None
    second = admin.put_json_if_match(loc, {"v": 2}, etag)
    assert second is not None and second != etag
    assert admin.put_json_if_match(loc, {"v": 3}, etag) is None  # the stale reader loses
    assert admin.get_json(loc) == {"v": 2}
    admin.delete(loc)
    assert admin.put_json_if_match(loc, {"v": 4}, second) is None  # deleted since: also a lost race


@pytest.mark.parametrize(
    ("status", "code"), [(412, "PreconditionFailed"), (409, "ConditionalRequestConflict")]
)
def test_a_lost_race_is_its_own_class(scripted_s3: tuple[str, Answer], status: int, code: str) -> None:
    endpoint, answer = scripted_s3
    answer.status, answer.code, answer.message = status, code, "At least one of the pre-conditions failed"
    store = S3Store(connection=connection(endpoint))
    loc = S3Location("dest", "_commits/dt=2026-12-02.json")
    with pytest.raises(WriteConflictError) as info:
        store._put_conditional(loc, {}, if_none_match=True)
    assert not isinstance(info.value, TransientError | TerminalError)
    assert info.value.http_status == status and info.value.key == loc.key
    assert store.put_json_if_absent(loc, {}) is None
