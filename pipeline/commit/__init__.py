"""commit: the run's rows of every table gated by Great Expectations, written under run-specific names,
then the date switched to them in one manifest PUT; the run's summary."""

from pipeline.commit.stage import RunSummary, latency_alerts, stage_commit

__all__ = ["RunSummary", "latency_alerts", "stage_commit"]
