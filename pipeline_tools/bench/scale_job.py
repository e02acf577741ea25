"""One run of the whole job, as `media-pipeline run` makes it (`pipeline.run.run_job`, settings from the
`MEDIA_PIPELINE_*` environment, services from the AWS / Gemini variables), in a process of its own so
that the bench can take its CPU time, its process tree's memory and nothing else.

Run as `python -m pipeline_tools.bench.scale_job --date D --out RESULT.json [--dry-run]`. Each stage
function run_job calls is timed where it is looked up (the stage packages' public names), so the
sequence of stages stays run_job's own; the result holds the seconds per stage and the run's counts.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

# (package, public stage function) in the order run_job calls them
STAGES = (
    ("pipeline.discover", "stage_discover"),
    ("pipeline.plan", "stage_plan"),
    ("pipeline.prepare", "stage_prepare"),
    ("pipeline.infer", "stage_infer"),
    ("pipeline.validate", "stage_validate"),
    ("pipeline.commit", "stage_commit"),
)


def time_stages(seconds: dict[str, float]) -> None:
    """Replace each stage function by one that adds its wall time to `seconds[stage]`."""

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start

        return run

    for package, attr in STAGES:
        module = importlib.import_module(package)
        setattr(module, attr, timed(attr.removeprefix("stage_"), getattr(module, attr)))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m pipeline_tools.bench.scale_job")
    p.add_argument("--date", required=True, type=date.fromisoformat)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)

    from pipeline.commit import RunSummary
    from pipeline.config import Settings
    from pipeline.gemini.client import GeminiConnection
    from pipeline.run import run_job

    seconds: dict[str, float] = {}
    time_stages(seconds)
    settings = Settings(dry_run=True) if args.dry_run else Settings()
    started = time.perf_counter()
    result = run_job(settings, args.date, connection=GeminiConnection.from_env_if_set())
    doc: dict[str, Any] = {"wall_s": time.perf_counter() - started, "stage_s": seconds}
    if isinstance(result, RunSummary):
        doc.update(
            run_id=result.run_id,
            status=result.status,
            items_total=result.items_total,
            items_ok=result.items_ok,
            items_failed=result.items_failed,
            items_duplicate=result.items_duplicate,
            requests=result.requests,
            failures=result.failures[:20],
        )
    else:
        doc.update(
            run_id=result.run_id,
            status="dry_run",
            items_total=len(result.items),
            items_ok=sum(1 for i in result.items if i.active),
        )
    args.out.write_text(json.dumps(doc, default=str))
    return doc


if __name__ == "__main__":
    main()
