"""`make bench` (`python -m pipeline_tools.bench`): preparation speed, memory and token economy, each as a
ratio against a baseline measured in the same run, and the run's cost estimate against its bill
(estimate.py). A script, not a test: tests/pipeline_tools/bench only checks that it runs."""

from pipeline_tools.bench.run import BenchConfig, Row, format_table, run_bench

__all__ = ["BenchConfig", "Row", "format_table", "run_bench"]
