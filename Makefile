# Two commands for a fresh clone: `make demo` and `make test`. Each installs what it needs.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help setup demo test test-fast test-e2e bench check lint fmt clean services test-tools

help:
	@echo "make demo   - run the nightly job on embedded S3 + the Gemini emulator, tables in ./demo-output"
	@echo "make test   - make check: ruff, mypy --strict, then the whole test suite (unit + end-to-end)"
	@echo "make bench  - benchmarks (ratios against baselines measured in the same run)"
	@echo "make lint   - ruff lint + format check and mypy --strict only"

setup:
	@scripts/bootstrap.sh

demo: setup
	$(BIN)/media-pipeline demo

# One worker per core, a test file per worker at a time (module fixtures and the Airflow stacks stay
# whole): the suite waits on servers and subprocesses more than it computes.
PYTEST := $(BIN)/pytest -n auto --dist loadfile

test: check

# Everything CI holds the code to: static checks first (seconds), then every test.
check: lint services test-tools
	$(PYTEST)

test-fast: setup
	$(PYTEST) -m "not e2e"

test-e2e: setup
	$(PYTEST) -m e2e

bench: setup
	$(BIN)/python -m pipeline_tools.bench

# Static checks: the library, the emulator and the tools are typed strictly (pyproject [tool.mypy]).
lint: setup
	$(BIN)/ruff check pipeline gemini_emulator pipeline_tools dags tests
	$(BIN)/ruff format --check pipeline gemini_emulator pipeline_tools dags tests
	$(BIN)/mypy

fmt: setup
	$(BIN)/ruff format pipeline gemini_emulator pipeline_tools dags tests
	$(BIN)/ruff check --fix pipeline gemini_emulator pipeline_tools dags tests

services:
	@scripts/ci-services.sh

test-tools:
	@scripts/ensure-test-tools.sh

clean:
	rm -rf demo-output .pytest_cache
