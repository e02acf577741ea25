"""An independent SigV4 query-string check (the algorithm of AWS's "Authenticating Requests: Using Query
Parameters"), written from the spec rather than through botocore's signer, so a test can show that a
pre-signed URL is valid for exactly one object with one set of credentials."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, quote, unquote, urlsplit


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_signature(url: str, secret_key: str) -> str:
    """The signature SigV4 gives this URL's method (GET), path, query and host under `secret_key`."""
    parts = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params))
    fields = dict(params)
    signed_headers = fields["X-Amz-SignedHeaders"]
    assert signed_headers == "host", signed_headers  # a URL a third party fetches signs the host only
    path = quote(unquote(parts.path), safe="/-_.~")
    canonical = "\n".join(["GET", path, query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"])
    amz_date = fields["X-Amz-Date"]
    _, day, region, service, _ = fields["X-Amz-Credential"].split("/")
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret_key).encode(), day)
    for step in (region, service, "aws4_request"):
        key = _hmac(key, step)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def signature_of(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]


def access_key_of(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))["X-Amz-Credential"].split("/")[0]
