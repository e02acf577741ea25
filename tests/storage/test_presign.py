"""S3Store.presign_get: a pre-signed GET URL is a credential, so only objects under the prefix the caller
names are signed, the expiry stays within SigV4's 7 days, and the URL is valid SigV4 for that object."""

from __future__ import annotations

import re

import pytest
import requests

from pipeline.errors import ConfigError
from pipeline.storage import S3Layout, S3Location, S3Store, redact_signed_urls
from tests.sigv4 import access_key_of, expected_signature, signature_of

from .conftest import ADMIN


def _staged(admin: S3Store, bucket: str) -> tuple[S3Location, S3Location]:
    layout = S3Layout(S3Location(bucket, "results"))
    chunk = layout.chunks("ab" * 32, "fp").join("chunk-000.mp4")
    admin.put_bytes(chunk, b"chunk bytes", "video/mp4")
    return chunk, layout.signable()


def test_a_staged_chunk_is_signed_for_exactly_that_object(admin: S3Store, bucket: str) -> None:
    chunk, signable = _staged(admin, bucket)
    url = admin.presign_get(chunk, 3600, within=signable)
    assert url.split("?", 1)[0].endswith(f"/{bucket}/{chunk.key}")
    assert "X-Amz-Expires=3600" in url
    secret = ADMIN["secret_access_key"].get_secret_value()  # type: ignore[attr-defined]
    assert access_key_of(url) == ADMIN["access_key_id"]
    assert signature_of(url) == expected_signature(url, secret)
    # the same signature does not cover another object, nor another secret
    other = url.replace("chunk-000.mp4", "chunk-001.mp4")
    assert signature_of(other) != expected_signature(other, secret)
    assert signature_of(url) != expected_signature(url, "not-the-secret")
    assert requests.get(url, timeout=10).content == b"chunk bytes"


@pytest.mark.parametrize(
    "key",
    [
        "results/_staging/runs/r1/manifest.json",  # staging, but not chunks
        "results/_ledger/batches/g.json",
        "incoming/dt=2026-11-06/video.mp4",  # a source
        "results/_staging/chunks/../runs/r1/manifest.json",  # out through '..'
        "results/_staging/chunksX/a.mp4",  # a sibling prefix that merely starts alike
    ],
)
def test_nothing_outside_the_signable_prefix_is_signed(admin: S3Store, bucket: str, key: str) -> None:
    _, signable = _staged(admin, bucket)
    with pytest.raises(ConfigError, match="refusing to sign"):
        admin.presign_get(S3Location(bucket, key), 3600, within=signable)
    with pytest.raises(ConfigError, match="refusing to sign"):
        admin.presign_get(S3Location("another-bucket", signable.join("a.mp4").key), 3600, within=signable)


def test_expiry_stays_within_sigv4_limits(admin: S3Store, bucket: str) -> None:
    chunk, signable = _staged(admin, bucket)
    admin.presign_get(chunk, 7 * 24 * 3600, within=signable)
    for expires in (0, 7 * 24 * 3600 + 1):
        with pytest.raises(ConfigError, match="7 days"):
            admin.presign_get(chunk, expires, within=signable)


def test_redaction_keeps_the_object_and_drops_the_secrets(admin: S3Store, bucket: str) -> None:
    chunk, signable = _staged(admin, bucket)
    url = admin.presign_get(chunk, 3600, within=signable) + "&X-Amz-Security-Token=SESSIONTOKEN"
    text = redact_signed_urls(f"Cannot fetch content from the provided URL: {url} (HTTP 403).")
    assert chunk.key in text and "X-Amz-Expires=3600" in text
    assert not re.search(r"X-Amz-Signature=[0-9a-f]{16}", text)
    assert "SESSIONTOKEN" not in text and ADMIN["access_key_id"] + "%2F" not in text
    assert "X-Amz-Signature=REDACTED" in text and "X-Amz-Credential=REDACTED" in text
