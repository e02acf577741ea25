"""Retry timing for transient Gemini errors: exponential backoff with full jitter, or the server's own
RetryInfo delay when it gives one."""

from __future__ import annotations

import random
import re

_DURATION = re.compile(r"^\s*([0-9.]+)s\s*$")


def server_retry_delay(exc: BaseException | None) -> float | None:
    """The `retryDelay` of a google.rpc.RetryInfo detail on a google-genai APIError, in seconds."""
    from pipeline.gemini.client import error_details

    for detail in error_details(exc):
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def backoff_delay(
    attempt: int, *, base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None
) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return (rng or random).uniform(0, min(cap, base * 2 ** (attempt - 1)))
