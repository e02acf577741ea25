"""infer: send every prepared chunk to Gemini (Batch Mode by default) and record every outcome.

Batch jobs are recorded in the manifest right after `create`, keyed by the fingerprint of their request
keys: a retried task re-attaches to the job already paid for instead of creating another."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from pipeline.gemini import batch, sync
from pipeline.gemini.client import GeminiConnection, make_client
from pipeline.gemini.outcomes import RequestOutcome
from pipeline.gemini.requests import ChunkRequest, generation_config, request_key
from pipeline.runner.context import RunContext
from pipeline.runner.prepare_stage import chunk_bytes
from pipeline.runner.state import BatchSubmission, RunManifest

# `auto` sends small runs synchronously: a batch job's turnaround is not worth it for a handful.
AUTO_SYNC_MAX_REQUESTS = 8


def _request_facts(manifest: RunManifest) -> dict[str, dict]:
    facts: dict[str, dict] = {}
    for item in manifest.items:
        if not item.active:
            continue
        for chunk in item.prepared:
            key = request_key(item.source.sha256, chunk.index, item.fingerprint or "")
            facts[key] = {
                "source_uri": item.source.uri,
                "chunk_index": chunk.index,
                "chunk_start_s": chunk.start_s,
                "chunk_end_s": chunk.start_s + chunk.duration_s,
                "mime_type": chunk.mime_type,
                "bytes": chunk.bytes,
                "chunk_uri": chunk.uri,
            }
    return facts


def _load(ctx: RunContext, manifest: RunManifest, key: str) -> ChunkRequest:
    fact = manifest.requests[key]
    item = next(i for i in manifest.items if i.source.uri == fact["source_uri"])
    chunk = next(c for c in item.prepared if c.index == fact["chunk_index"])
    return ChunkRequest(
        key=key,
        source_uri=fact["source_uri"],
        chunk_index=chunk.index,
        chunk_start_s=chunk.start_s,
        chunk_duration_s=chunk.duration_s,
        mime_type=chunk.mime_type,
        data=chunk_bytes(ctx, chunk),
    )


def _group_id(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


def stage_infer(ctx: RunContext, connection: GeminiConnection | None = None) -> RunManifest:
    manifest = ctx.load()
    s = ctx.settings
    facts = _request_facts(manifest)
    manifest.requests.update(facts)
    todo = {k: f for k, f in facts.items() if k not in manifest.outcomes}
    if not todo:
        manifest.stages_done.append("infer")
        ctx.save(manifest)
        return manifest
    client = make_client(connection or GeminiConnection.from_env())
    config = generation_config(ctx.task, media_resolution=s.media_resolution, max_output_tokens=s.max_output_tokens)
    mode = s.mode
    if mode == "auto":
        mode = "sync" if len(todo) <= AUTO_SYNC_MAX_REQUESTS else "batch"
    sync_keys: list[str] = list(todo) if mode == "sync" else []
    if mode == "batch":
        groups, oversized = batch.group_for_inline({k: f["bytes"] for k, f in todo.items()}, ctx.task.prompt)
        sync_keys = oversized
        _run_batches(ctx, manifest, client, config, groups)
    if sync_keys:
        ctx.progress.start("infer (sync)", len(sync_keys))
        requests = [_load(ctx, manifest, k) for k in sync_keys]
        for outcome in sync.run_sync(client, model=s.model, task=ctx.task, requests=requests, config=config, video_fps=s.video_fps):
            manifest.outcomes[outcome.key] = outcome.to_dict()
            ctx.progress.advance("infer (sync)", f"{outcome.key}: {outcome.status}")
        ctx.save(manifest)
    manifest.stages_done.append("infer")
    ctx.save(manifest)
    return manifest


def _run_batches(ctx: RunContext, manifest: RunManifest, client, config, groups: list[list[str]]) -> None:  # noqa: ANN001
    s = ctx.settings
    known = {b.group: b for b in manifest.batches}
    submissions: list[BatchSubmission] = []
    for number, keys in enumerate(groups, 1):
        group = _group_id(keys)
        if group in known:
            ctx.progress.note(f"re-attaching to batch job {known[group].job_name} (submitted {known[group].submitted_at:%H:%M:%S})")
            submissions.append(known[group])
            continue
        requests = [_load(ctx, manifest, k) for k in keys]
        name = batch.submit_inline(
            client,
            model=s.model,
            task=ctx.task,
            requests=requests,
            config=config,
            video_fps=s.video_fps,
            display_name=f"{ctx.run_id}-{number:03d}",
        )
        submission = BatchSubmission(group=group, job_name=name, keys=keys, submitted_at=datetime.now(UTC))
        manifest.batches.append(submission)
        ctx.save(manifest)  # recorded before waiting: a retry must find it
        submissions.append(submission)
        ctx.progress.note(f"submitted batch job {name} with {len(keys)} request(s)")
    ctx.progress.start("infer (batch)", len(submissions))
    for submission in submissions:
        started = time.monotonic()
        last_state: list[str] = []

        def report(state: str, waited: float, name: str = submission.job_name, last_state: list[str] = last_state) -> None:
            if not last_state or last_state[-1] != state:  # one line per state change, not per poll
                last_state.append(state)
                ctx.progress.note(f"{name}: {state.removeprefix('JOB_STATE_')} after {waited:.0f}s")

        job = batch.wait(
            client,
            submission.job_name,
            poll_seconds=s.batch_poll_seconds,
            timeout_seconds=s.batch_timeout_seconds,
            on_state=report,
        )
        elapsed = int((time.monotonic() - started) * 1000)
        outcomes: list[RequestOutcome] = batch.collect(job, submission.keys, elapsed_ms=elapsed)
        for outcome in outcomes:
            manifest.outcomes[outcome.key] = outcome.to_dict()
        ctx.save(manifest)
        ok = sum(1 for o in outcomes if o.status == "ok")
        ctx.progress.advance("infer (batch)", f"{submission.job_name}: {ok}/{len(outcomes)} answered")
