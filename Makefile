# Two commands for a fresh clone: `make demo` and `make test`. Each installs what it needs.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help setup demo test test-fast test-e2e bench check fmt clean services test-tools

help:
	@echo "make demo   - run the nightly job on embedded S3 + the Gemini emulator, tables in ./demo-output"
	@echo "make test   - the whole test suite (unit + end-to-end)"
	@echo "make bench  - benchmarks (ratios against baselines measured in the same run)"
	@echo "make check  - ruff lint + format check"

setup:
	@scripts/bootstrap.sh

demo: setup
	$(BIN)/media-pipeline demo

# One worker per core, a test file per worker at a time (module fixtures and the Airflow stacks stay
# whole): the suite waits on servers and subprocesses more than it computes.
PYTEST := $(BIN)/pytest -n auto --dist loadfile

test: setup services test-tools
	$(PYTEST)

test-fast: setup
	$(PYTEST) -m "not e2e"

test-e2e: setup
	$(PYTEST) -m e2e

bench: setup
	$(BIN)/python -m pipeline.bench

check: setup
	$(BIN)/ruff check pipeline dags tests
	$(BIN)/ruff format --check pipeline dags tests

fmt: setup
	$(BIN)/ruff format pipeline dags tests
	$(BIN)/ruff check --fix pipeline dags tests

services:
	@scripts/ci-services.sh

test-tools:
	@scripts/ensure-test-tools.sh

clean:
	rm -rf demo-output .pytest_cache
