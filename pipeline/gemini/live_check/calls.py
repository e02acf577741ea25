"""One request of a live check and what became of it. A refusal (400 for a level a model does not take,
404 for a model it does not serve) is an observation to compare, not a crash; only a refused API key
stops the whole check, because no later request can succeed either."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pipeline.errors import ConfigError, GeminiTransientError, PipelineError

T = TypeVar("T")

ACCEPTED = "accepted"
SERVED = "served"
NOT_SERVED = "not served (404)"
# A live service has its moments (429, 503 "overloaded"): a transient error is retried before it is
# reported, so a check does not show a DIFF for what a second try would have answered.
TRIES = 3
BACKOFF_S = 2.0


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None
    code: int | None = None  # HTTP status of the error
    error: str = ""  # the error as pipeline.gemini.client.GeminiClient raised it

    @property
    def ok(self) -> bool:
        return not self.error

    def label(self, ok: str = ACCEPTED) -> str:
        """The outcome in the words the rows compare: accepted / refused (400) / not served (404) ..."""
        if self.ok:
            return ok
        if self.code == 404:
            return NOT_SERVED
        if self.code is not None and 400 <= self.code < 500:
            return refused(self.code)
        return f"failed ({self.code})" if self.code else "failed"


def refused(code: int = 400) -> str:
    """A refusal in the words of Outcome.label (what the catalog expects of a refused request)."""
    return f"refused ({code})"


def attempt(
    call: Callable[[], T], what: str, *, tries: int = TRIES, sleep: Callable[[float], None] = time.sleep
) -> Outcome[T]:
    for n in range(1, tries + 1):
        # GeminiClient raises the project's errors only; anything else is a bug and propagates.
        try:
            return Outcome(call())
        except ConfigError:
            raise
        except PipelineError as err:
            if isinstance(err, GeminiTransientError) and n < tries:
                sleep(BACKOFF_S * n)
                continue
            return Outcome(code=err.http_status, error=f"{what}: {err}")
    raise AssertionError("unreachable: the last try returns")
