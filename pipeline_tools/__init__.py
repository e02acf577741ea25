"""Tooling around the pipeline, not the product: the benchmarks (`python -m pipeline_tools.bench`), the
sample media generator (`python -m pipeline_tools.samples`) and the embedded services the demo and the
tests run on (embedded.py: moto's S3 server and the Gemini emulator on loopback).

It depends on the pipeline and on the `offline` extra; the runtime library (`pipeline/`) never imports it
at module level (the CLI's `demo` command imports it when it runs)."""
