"""`make bench` (`python -m pipeline.bench`): preparation speed, memory and token economy, each as a ratio
against a baseline measured in the same run, and the run's cost estimate against its bill (estimate.py).
A script, not a test: tests/bench only checks that it runs."""

from pipeline.bench.run import BenchConfig, Row, format_table, run_bench

__all__ = ["BenchConfig", "Row", "format_table", "run_bench"]
