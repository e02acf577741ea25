"""The run: stage functions over a manifest in S3 staging, and `run_job` that calls them in order."""

from pipeline.runner.commit_stage import RunSummary, stage_commit, stage_validate
from pipeline.runner.context import LogProgress, Progress, RunContext, new_run_id, run_id_from
from pipeline.runner.infer_stage import stage_infer
from pipeline.runner.job import run_job
from pipeline.runner.plan_stage import stage_discover, stage_plan
from pipeline.runner.prepare_stage import stage_prepare
from pipeline.runner.state import RunManifest

__all__ = [
    "LogProgress",
    "Progress",
    "RunContext",
    "RunManifest",
    "RunSummary",
    "new_run_id",
    "run_id_from",
    "run_job",
    "stage_commit",
    "stage_discover",
    "stage_infer",
    "stage_plan",
    "stage_prepare",
    "stage_validate",
]
