"""Media by external URL in the emulator (OFFLINE TEST DOUBLE): a `fileData.fileUri` that is an http(s)
URL is fetched over HTTP, the way Gemini 3.x fetches a public or pre-signed URL, and the fetched bytes
then go through the same decode and billing path as inline bytes.

moto's S3 server answers a presigned GET whose expiry has passed with 200 (it does not check), so the
emulator checks `X-Amz-Date` + `X-Amz-Expires` itself before fetching. Every failure (expired,
unreachable, 403, 404, too big) is the 400 INVALID_ARGUMENT the service sends for a URL it cannot fetch.
The message quotes the URL, as a service error may: a client must not log such messages unredacted."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from pipeline.catalog import transport_limits

from .wire import ApiError, bad_request

FETCH_TIMEOUT_S = 30.0


def is_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


def _failed(url: str, why: str) -> ApiError:
    return bad_request(f"Cannot fetch content from the provided URL: {url} ({why}).")


def signed_until(url: str) -> float | None:
    """When a SigV4 pre-signed URL stops being valid (epoch seconds), None for an unsigned URL."""
    query = parse_qs(urlsplit(url).query)
    dates, expires = query.get("X-Amz-Date"), query.get("X-Amz-Expires")
    if not dates or not expires:
        return None
    try:
        signed = datetime.strptime(dates[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return signed.timestamp() + int(expires[0])
    except ValueError:
        return 0.0  # malformed: treated as expired, as the store would refuse it


def _length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class UrlFetcher:
    """Fetches media URLs; `clock_offset_s` moves the emulator's clock forward for expiry checks (a test
    hook: a URL signed for 49 h is past its expiry when the offset is 50 h)."""

    clock_offset_s: float = 0.0
    timeout_s: float = FETCH_TIMEOUT_S
    fetched: int = 0
    fetched_bytes: int = 0
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, url: str) -> tuple[bytes, str]:
        try:
            data, mime = self._fetch(url)
        except ApiError:
            with self._lock:
                self.refused += 1
            raise
        with self._lock:
            self.fetched += 1
            self.fetched_bytes += len(data)
        return data, mime

    def _fetch(self, url: str) -> tuple[bytes, str]:
        until = signed_until(url)
        if until is not None and time.time() + self.clock_offset_s > until:
            raise _failed(url, "the signed URL has expired")
        limit = transport_limits().url_request_max_bytes
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as answer:  # noqa: S310 - http(s) only
                declared = _length(answer.headers.get("Content-Length"))
                if declared is not None and declared > limit:  # refused unread, as the service does
                    raise _failed(url, f"the content exceeds the limit of {limit} bytes")
                data = answer.read(limit + 1)
                mime = str(answer.headers.get("Content-Type") or "")
        except urllib.error.HTTPError as exc:
            raise _failed(url, f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise _failed(url, f"unreachable: {exc}") from None
        if len(data) > limit:
            raise _failed(url, f"the content exceeds the limit of {limit} bytes")
        return data, mime.split(";", 1)[0].strip().lower()

    def usage(self) -> dict[str, int]:
        with self._lock:
            return {"fetched": self.fetched, "fetched_bytes": self.fetched_bytes, "refused": self.refused}

    def clear(self) -> None:
        with self._lock:
            self.fetched = self.fetched_bytes = self.refused = 0
