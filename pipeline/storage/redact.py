"""Signed URLs are bearer credentials: whatever the pipeline writes down (logs, manifests, tables, error
messages) passes through `redact_signed_urls`, which keeps scheme, host, path and the harmless query
parameters (a reader still sees which object and when) and drops the signature and the credential."""

from __future__ import annotations

import re

REDACTED = "REDACTED"
# SigV4 query authentication (S3 and compatible stores), and GCS V4 signed URLs for good measure.
_SECRET_PARAMS = re.compile(
    r"((?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|X-Goog-Credential)=)"
    r"[^&\s\"'<>\\]*",
    re.IGNORECASE,
)


def redact_signed_urls(text: str) -> str:
    """`text` with every signature / credential / session token value of a signed URL replaced."""
    return _SECRET_PARAMS.sub(rf"\1{REDACTED}", text)
