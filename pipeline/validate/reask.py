"""Re-ask once: answers that fail their pydantic model are sent again, synchronously, with the
validation error appended to the prompt. A second failure quarantines the item (pipeline.validate.answers).

The re-ask is a request of its own (key `<key>-reask`, `reask_of` naming the first): both are paid, so
both stay in the `requests` ledger and in the item's cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from pipeline.gemini.client import GeminiClient, require_client
from pipeline.infer import ChunkRequest, load_request
from pipeline.models import Track
from pipeline.run.context import RunContext
from pipeline.run.state import RequestOutcome, RunManifest
from pipeline.tasks import Task
from pipeline.validate.answers import keys_to_reask, reask_key

# (task with the amended prompt, one request) -> its outcome; the default goes through run_sync.
Sender = Callable[[Task, ChunkRequest], RequestOutcome]

PROMPT_SUFFIX = """

Your previous answer for this media was rejected by validation:
{error}
Answer again with JSON that matches the response schema exactly."""


def reask_prompt(task: Task, error: str) -> str:
    return task.prompt + PROMPT_SUFFIX.format(error=error[:1000])


def sync_sender(ctx: RunContext, client: GeminiClient) -> Sender:
    """Send through pipeline.infer.sync.run_sync (retries on throttling included)."""
    from pipeline.infer import generation_config, sync

    s = ctx.settings

    def send(task: Task, request: ChunkRequest) -> RequestOutcome:
        model = request.model or s.model  # a split video's sound is re-asked of its own model
        sound = request.track is Track.SOUND
        generation = task.generation_for(model, s.max_output_tokens, sound=sound)
        config = generation_config(
            task,
            model,
            media_resolution=request.media_resolution,
            max_output_tokens=s.max_output_tokens,
            sound=sound,
        )
        call = sync.SyncCall(client, model, task, config, thinking=generation.thinking.effective)
        (outcome,) = sync.run_sync(call, [request])
        return outcome

    return send


def reask_invalid(
    ctx: RunContext, manifest: RunManifest, client: GeminiClient | None, send: Sender | None = None
) -> list[str]:
    """Re-ask every invalid answer once; record the outcomes in the manifest. Returns the keys re-asked."""
    todo = keys_to_reask(ctx.task, manifest)
    if not todo:
        return []
    send = send or sync_sender(ctx, require_client(client))
    ctx.progress.start("re-ask", len(todo))
    for key, error in sorted(todo.items()):
        request = load_request(ctx, manifest, key, send_as=reask_key(key))
        outcome = send(dataclasses.replace(ctx.task, prompt=reask_prompt(ctx.task, error)), request)
        outcome.key = request.key
        manifest.requests[request.key] = manifest.requests[key].model_copy(update={"reask_of": key})
        manifest.outcomes[request.key] = outcome
        ctx.save(manifest)  # paid: recorded at once, so a retried stage does not ask a third time
        ctx.progress.advance("re-ask", f"{key}: {outcome.status}")
    return sorted(todo)
