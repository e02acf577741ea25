"""How the pipeline waits for a long-running Gemini resource (a batch job, a file being processed): the
one rule used by the CLI's wait (pipeline.infer.batch.wait) and the Airflow trigger
(pipeline.airflow.triggers), so a job is looked at on the same schedule wherever it runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# Batch jobs take minutes to hours; past a few minutes between looks, polling more often only costs calls.
MAX_BATCH_POLL_SECONDS = 300.0
# The delay grows to at most this many first delays, so a short setting (tests, the demo) stays short.
GROWTH_LIMIT = 30


@dataclass(frozen=True)
class PollingRule:
    """First look after `first_s`, then every `every_s`, doubling after each look up to `max_s`."""

    first_s: float
    every_s: float
    max_s: float

    @classmethod
    def for_batches(cls, poll_seconds: float) -> PollingRule:
        """The rule for batch jobs from the run's `batch_poll_seconds` setting."""
        return cls(
            first_s=poll_seconds,
            every_s=poll_seconds,
            max_s=min(MAX_BATCH_POLL_SECONDS, poll_seconds * GROWTH_LIMIT),
        )

    def settled(self, first_s: float) -> PollingRule:
        """The same rule with a first look no sooner than `first_s` (the Airflow trigger's settling time,
        pipeline.airflow.triggers.trigger_settle_seconds)."""
        return PollingRule(max(self.first_s, first_s), self.every_s, self.max_s)

    def delays(self) -> Iterator[float]:
        """The waits before each look, without end (the caller stops on a final state or its timeout)."""
        yield self.first_s
        delay = self.every_s
        while True:
            yield delay
            delay = min(self.max_s, delay * 2)

    def to_dict(self) -> dict[str, float]:
        return {"first_s": self.first_s, "every_s": self.every_s, "max_s": self.max_s}
