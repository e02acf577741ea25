"""What the S3 server was asked, counted at the server (a WSGI layer around moto's app), independently
of the pipeline's own bookkeeping: requests by method and by the part of the layout they touch, the
presigned GETs (the emulator fetching media by URL) apart, and the largest write under each area, the
run's state (`_staging/runs/`) above all."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

# Parts of the layout the counts are split by (in the key, after the bucket): the first found wins;
# `source_prefix` marks the sources, anything else under a key is a table.
AREAS = ("_staging/runs/", "_staging/chunks/", "_staging/", "_ledger/", "_validation/")


def area_of(key: str, source_prefix: str = "incoming/") -> str:
    for area in AREAS:
        if area in key:
            return area.rstrip("/")
    if not key:
        return "bucket"  # listings, multi-object deletes, bucket calls
    return "sources" if key.startswith(source_prefix) else "tables"


@dataclass
class S3RequestLog:
    """Thread-safe counters; `wrap(app)` is the WSGI app that fills them."""

    requests: Counter[str] = field(default_factory=Counter)  # "GET _staging/chunks"
    presigned: Counter[str] = field(default_factory=Counter)
    largest_put: dict[str, tuple[int, str]] = field(default_factory=dict)  # area -> (bytes, key)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def counted(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            self.record(environ)
            return app(environ, start_response)

        return counted

    def record(self, environ: Environ) -> None:
        method = str(environ.get("REQUEST_METHOD", "?"))
        key = str(environ.get("PATH_INFO", "")).lstrip("/")
        key = key.split("/", 1)[1] if "/" in key else ""  # path style: /bucket/key
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        area = area_of(key)
        # aws-chunked bodies say their real size apart; plain ones in Content-Length
        size = int(environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH") or 0)
        with self._lock:
            if "X-Amz-Signature" in query:
                self.presigned[f"{method} {area}"] += 1
                return
            self.requests[f"{method} {area}"] += 1
            if method in ("PUT", "POST") and size > self.largest_put.get(area, (0, ""))[0]:
                self.largest_put[area] = (size, key)

    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests_total": sum(self.requests.values()),
                "requests": dict(sorted(self.requests.items())),
                "presigned_total": sum(self.presigned.values()),
                "presigned": dict(sorted(self.presigned.items())),
                "largest_put": {a: {"bytes": b, "key": k} for a, (b, k) in sorted(self.largest_put.items())},
            }

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.presigned.clear()
            self.largest_put.clear()
