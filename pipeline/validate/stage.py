"""validate: each answer against the task's pydantic model (re-asked once when invalid), then stitched
onto the source's timeline; what fails becomes quarantine rows. The table-level gate runs at commit."""

from __future__ import annotations

from pipeline.gemini.client import GeminiClient
from pipeline.run.context import RunContext
from pipeline.run.state import RunManifest
from pipeline.validate.answers import answer_item
from pipeline.validate.reask import Sender, reask_invalid


def stage_validate(
    ctx: RunContext, client: GeminiClient | None = None, *, send: Sender | None = None
) -> RunManifest:
    """Record-level validation: each answer against its pydantic model; invalid ones re-asked once
    (through `send`, or synchronously with `client`)."""
    manifest = ctx.load()
    # A retried stage recomputes the rows of items still active; rows of items it quarantined stay.
    again = {i.source.uri for i in manifest.items if i.active}
    manifest.quarantine = [
        q for q in manifest.quarantine if not (q.stage in ("infer", "validate") and q.source_uri in again)
    ]
    reask_invalid(ctx, manifest, client, send)
    for item in manifest.items:
        if item.active:
            manifest.quarantine.extend(answer_item(ctx.task, manifest, item))
    manifest.stages_done.append("validate")
    ctx.save(manifest)
    return manifest
