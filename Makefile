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

# A test file per worker at a time (module fixtures and the Airflow stacks stay whole), one worker more
# than there are cores: the suite waits on servers, batch jobs and subprocesses about a third of the
# time (on 2 cores, 3 workers took 5:48 where 2 took 6:47 and 4 took 5:41, in one session).
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST := $(BIN)/pytest -n $(WORKERS) --dist loadfile

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
