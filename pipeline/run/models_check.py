"""Before the first payment of a run: the service confirms every model it will use (once per run)."""

from __future__ import annotations

from pipeline.gemini.client import GeminiClient
from pipeline.gemini.service_models import check_models
from pipeline.run.context import RunContext
from pipeline.run.state import RunManifest


def ensure_models_served(
    ctx: RunContext, manifest: RunManifest, client: GeminiClient, models: list[str]
) -> None:
    """Ask the service, once per run, whether it serves every model the run uses (before any payment)."""
    todo = [m for m in dict.fromkeys(models) if m not in manifest.models_checked]
    if not todo:
        return
    for warning in check_models(client, todo, ctx.today):
        manifest.note(warning)
        ctx.progress.note(f"WARNING: {warning}")
    manifest.models_checked.extend(todo)
    ctx.save(manifest)
