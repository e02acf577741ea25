"""S3Store.delete_under: many prefixes of one area deleted with one listing and DeleteObjects of up to
1,000 keys, exactly the objects under those prefixes and nothing else of the area, with S3's failures
translated like every other call's. Against moto's S3 server through the real boto3 client; the calls
are counted at the client (botocore's before-call events)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pipeline.errors import BucketNotFoundError, ConfigError, StorageAccessError
from pipeline.storage import S3Layout, S3Location, S3Store

SHA_A, SHA_B, SHA_C = "a" * 64, "ab" * 32, "c" * 64
FP = "0123456789abcdef"


def _calls(store: S3Store) -> Counter[str]:
    """S3 operations the store's client makes from now on, by name."""
    seen: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        seen[event_name.rsplit(".", 1)[-1]] += 1

    store.client.meta.events.register("before-call.s3", count)
    return seen


def _put(store: S3Store, bucket: str, keys: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: store.put_bytes(S3Location(bucket, key), b"x"), keys))


def _keys(store: S3Store, bucket: str) -> set[str]:
    return {o["Key"] for o in store.list(S3Location(bucket, ""))}


def test_only_what_is_under_the_prefixes_goes_in_one_listing_and_batches_of_1000(
    admin: S3Store, bucket: str
) -> None:
    layout = S3Layout(S3Location(bucket, "results"))
    area = layout.chunk_area()
    mine = [layout.chunks(SHA_A, FP), layout.chunks(SHA_B, FP)]
    # 1,001 chunks under the first prefix (two DeleteObjects), an index and a chunk under the second
    doomed = [mine[0].join(f"chunk_{i:04d}.jpg").key for i in range(1000)]
    doomed += [
        mine[0].join("chunks.json").key,
        mine[1].join("chunk_000.mp4").key,
        mine[1].join("chunks.json").key,
    ]
    kept = [
        layout.chunks(SHA_C, FP).join("chunk_000.mp4").key,  # another content (another run's)
        layout.chunks(SHA_A, "fedcba9876543210")
        .join("chunk_000.mp4")
        .key,  # the same content, other settings
        f"{mine[0].key}X/chunk_000.mp4",  # a prefix that merely starts alike
        layout.manifest("r1").key,  # staging, outside the chunk area
    ]
    _put(admin, bucket, doomed + kept)
    calls = _calls(admin)
    assert admin.delete_under(area, mine) == len(doomed) == 1003
    # one listing: the common prefix of the two holds 1,005 keys, two pages; 1,003 keys, two deletes
    assert calls == {"ListObjectsV2": 2, "DeleteObjects": 2}
    assert _keys(admin, bucket) == {*kept, "media/a.mp4", "media/b.mp4"}


def test_a_prefix_outside_the_area_is_refused_before_anything_is_sent(admin: S3Store, bucket: str) -> None:
    area = S3Layout(S3Location(bucket, "results")).chunk_area()
    calls = _calls(admin)
    for outside in (
        S3Location(bucket, "media"),
        S3Location(bucket, "results/_staging/chunksX/a"),
        S3Location(bucket, "results/_staging/chunks/../runs"),
        S3Location("another-bucket", f"{area.key}/{SHA_A}"),
    ):
        with pytest.raises(ConfigError, match="refusing to delete under"):
            admin.delete_under(area, [S3Location(bucket, f"{area.key}/{SHA_A}/{FP}"), outside])
    assert admin.delete_under(area, []) == 0
    assert not calls


def test_s3_failures_are_translated_at_the_boundary(
    admin: S3Store, bucket: str, deny_delete: Callable[[str, str], None]
) -> None:
    missing = S3Location("no-such-bucket-here", "results/_staging/chunks")
    with pytest.raises(BucketNotFoundError, match="bucket 'no-such-bucket-here' does not exist"):
        admin.delete_under(missing, [missing.join(SHA_A, FP)])
    area = S3Location(bucket, "results/_staging/chunks")
    keys = [area.join(SHA_A, FP, "chunk_000.mp4").key, area.join(SHA_A, FP, "chunk_001.mp4").key]
    _put(admin, bucket, keys)
    deny_delete(bucket, keys[1])  # DeleteObjects answers 200 and lists that key in Errors
    with pytest.raises(StorageAccessError) as info:
        admin.delete_under(area, [area.join(SHA_A, FP)])
    assert info.value.key == keys[1] and info.value.code == "AccessDenied"
    assert str(info.value).startswith(f"deleting 2 objects under {area.uri}: 1 refused")
    assert _keys(admin, bucket) == {keys[1], "media/a.mp4", "media/b.mp4"}
