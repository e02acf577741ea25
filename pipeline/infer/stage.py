"""infer: send every prepared chunk to Gemini and record every outcome, paying once per request.

submit_batches -> (wait) -> collect_batches. Airflow's operator submits, defers to a trigger while the
jobs run, then collects; `stage_infer` does all three in one process. Jobs are found again through the
batch ledger (pipeline/infer/ledgers.py), so a retried task or a rerun re-attaches instead of
paying twice. Failed requests are retried (synchronously) up to `max_request_attempts`; every attempt
is kept for the `requests` table."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

from google.genai import types

from pipeline.catalog import transport_limits
from pipeline.errors import BatchJobFailedError, ConfigError, GeminiTransientError
from pipeline.gemini.client import GeminiClient, require_client
from pipeline.gemini.polling import PollingRule
from pipeline.infer import batch, filebatch, media_urls, sync, waves
from pipeline.infer import prompt_cache as caching
from pipeline.infer.ledgers import (
    BatchLedger,
    ClaimKeeper,
    LedgerRecord,
    RequestLedger,
    find_by_display_name,
    group_id,
)
from pipeline.infer.requests import ChunkRequest, generation_config, model_for
from pipeline.infer.retry import backoff_delay
from pipeline.models import PreparedChunk, Track
from pipeline.run.context import RunContext
from pipeline.run.models_check import ensure_models_served
from pipeline.run.state import BatchSubmission, ItemState, RequestFacts, RequestOutcome, RunManifest
from pipeline.storage import S3Location

# `auto` sends small runs synchronously: a batch job's turnaround is not worth it for a handful.
AUTO_SYNC_MAX_REQUESTS = 8
CREATE_ATTEMPTS = 5
MANIFEST_SAVE_INTERVAL_S = 10.0


def _request_facts(manifest: RunManifest) -> dict[str, RequestFacts]:
    facts: dict[str, RequestFacts] = {}
    for item in manifest.items:
        if not item.active or not item.prepared:
            continue
        plan = item.plan
        assert plan is not None, "prepared items were planned"
        for track in {c.track for c in item.prepared}:
            chunks = [c for c in item.prepared if c.track is track]
            total = sum(c.duration_s for c in chunks) or 1.0
            estimate = (plan.sound_estimate if track is Track.SOUND else None) or plan.estimate
            for chunk in chunks:
                share = chunk.duration_s / total if len(chunks) > 1 else 1.0
                facts[item.request_key(chunk)] = RequestFacts(
                    source_uri=item.source.uri,
                    chunk_index=chunk.index,
                    track=chunk.track,
                    model=model_for(chunk.track, plan.settings, manifest.model),
                    chunk_start_s=chunk.start_s,
                    chunk_end_s=chunk.start_s + chunk.duration_s,
                    mime_type=chunk.mime_type,
                    bytes=chunk.bytes,
                    chunk_uri=chunk.uri,
                    media_resolution=plan.settings.media_resolution,
                    estimated_prompt_tokens=int(estimate.prompt_total * share),
                )
    return facts


def load_request(
    ctx: RunContext,
    manifest: RunManifest,
    key: str,
    *,
    send_as: str | None = None,
    url_expires_s: int = media_urls.SYNC_URL_EXPIRES_S,
) -> ChunkRequest:
    """The request for one recorded key: a signed URL of its staged chunk where the model fetches URLs
    (signed now, valid `url_expires_s`: a retry gets a fresh one), else the chunk's bytes read from
    staging. `send_as` renames it (a re-ask is the same chunk under another key)."""
    fact = manifest.requests[key]
    item, chunk = _chunks_by_request(manifest)[fact.reask_of or key]
    url = None
    if media_urls.by_url(ctx.settings.transport, fact.model, chunk.bytes):
        url = media_urls.sign(ctx.store, ctx.dest, chunk.uri or "", url_expires_s)
    return ChunkRequest(
        key=send_as or key,
        source_uri=fact.source_uri,
        chunk_index=chunk.index,
        chunk_start_s=chunk.start_s,
        chunk_duration_s=chunk.duration_s,
        mime_type=chunk.mime_type,
        data=b"" if url else ctx.store.get_bytes(S3Location.parse(chunk.uri or "")),
        estimated_prompt_tokens=fact.estimated_prompt_tokens,
        video_fps=item.plan.settings.video_fps if item.plan else ctx.settings.video_fps,
        model=fact.model,
        track=chunk.track,
        media_resolution=fact.media_resolution or ctx.settings.media_resolution,
        url=url,
        subtitles=chunk.subtitles or "",
    )


def _chunks_by_request(manifest: RunManifest) -> dict[str, tuple[ItemState, PreparedChunk]]:
    """request key -> (item, chunk), built once per manifest: a run may hold thousands."""
    if manifest._chunk_index is None:
        manifest._chunk_index = {i.request_key(c): (i, c) for i in manifest.items for c in i.prepared}
    return manifest._chunk_index


def model_of(manifest: RunManifest, key: str) -> str:
    fact = manifest.requests.get(key)
    return fact.model if fact is not None else manifest.model


def by_model(manifest: RunManifest, keys: list[str]) -> dict[str, list[str]]:
    """Keys grouped by the model they go to, the run's model first (a batch job serves one model)."""
    groups: dict[str, list[str]] = {manifest.model: []}
    for key in keys:
        groups.setdefault(model_of(manifest, key), []).append(key)
    return {model: group for model, group in groups.items() if group}


def _resolve_mode(ctx: RunContext, pending: int) -> str:
    s = ctx.settings
    if s.mode != "auto":
        return s.mode
    if s.deadline_minutes is not None and s.deadline_minutes < s.batch_expected_minutes:
        return "sync"
    return "sync" if pending <= AUTO_SYNC_MAX_REQUESTS else "batch"


def is_sound(manifest: RunManifest, keys: list[str]) -> bool:
    """Whether these requests (to one model) are split videos' sound requests."""
    return any((fact := manifest.requests.get(k)) is not None and fact.track is Track.SOUND for k in keys)


def _config(
    ctx: RunContext, manifest: RunManifest, model: str, *, sound: bool = False, escalate: bool = False
) -> types.GenerateContentConfig:
    """The generation config for requests to `model`; the prompt cache serves the run's model only.
    `escalate`: the retry of an answer cut at MAX_TOKENS (more room, less thinking)."""
    s = ctx.settings
    held = manifest.prompt_cache
    cache = held.name if held and held.deleted_at is None and model == manifest.model else None
    return generation_config(
        ctx.task,
        model,
        media_resolution=s.media_resolution,
        max_output_tokens=s.max_output_tokens,
        cached_content=cache,
        escalate=escalate,
        sound=sound,
    )


def _thinking(ctx: RunContext, model: str, *, sound: bool = False, escalate: bool = False) -> str:
    """The thinking level requests to `model` are sent with (recorded on each outcome)."""
    generation = ctx.task.generation_for(
        model, ctx.settings.max_output_tokens, escalate=escalate, sound=sound
    )
    return generation.thinking.effective


def _ensure_prompt_cache(ctx: RunContext, manifest: RunManifest, client: GeminiClient) -> None:
    """Cache the shared prompt once per run, when it is big enough to be cached at all."""
    s = ctx.settings
    if manifest.prompt_cache or not s.context_cache or not caching.prompt_is_cacheable(s.model, ctx.task):
        return
    ttl = s.batch_timeout_seconds + 3600 if manifest.resolved_mode == "batch" else 3600
    cache = caching.create(
        client, model=s.model, task=ctx.task, ttl_seconds=ttl, display_name=f"gmp-{ctx.run_id}"
    )
    manifest.prompt_cache = cache
    ctx.save(manifest)
    ctx.progress.note(f"cached the task prompt ({cache.tokens} tokens) as {cache.name}")


def _release_prompt_cache(ctx: RunContext, manifest: RunManifest, client: GeminiClient) -> None:
    if manifest.prompt_cache and manifest.prompt_cache.deleted_at is None:
        manifest.prompt_cache = caching.delete(client, manifest.prompt_cache)


def _prepare_manifest(ctx: RunContext) -> tuple[RunManifest, list[str]]:
    manifest = ctx.load()
    media_urls.check_url_transport(ctx.settings.transport, manifest.model)
    manifest.requests.update(_request_facts(manifest))
    pending = [k for k in manifest.requests if k not in manifest.outcomes]
    if manifest.resolved_mode is None and pending:
        manifest.resolved_mode = _resolve_mode(ctx, len(pending))
    return manifest, pending


def _by_url(ctx: RunContext, manifest: RunManifest, key: str) -> bool:
    fact = manifest.requests[key]
    return media_urls.by_url(ctx.settings.transport, fact.model, fact.bytes)


def _transport(ctx: RunContext, manifest: RunManifest, keys: list[str]) -> str:
    """How one job's requests travel. `url`: inline requests whose media are signed URLs (a few KB
    each); `inline`: the chunks' bytes under the inline cap; `files`: a JSONL file, each chunk by URL
    where it can be, uploaded to the Files API otherwise (a chunk over the URL limit, a model that
    fetches no URL, or more URL requests than the inline cap holds)."""
    prompt = ctx.task.prompt
    urls = {k: _by_url(ctx, manifest, k) for k in keys}
    total = sum(
        batch.url_wire_bytes(prompt)
        if urls[k]
        else batch.inline_wire_bytes(manifest.requests[k].bytes, prompt)
        for k in keys
    )
    fits_inline = total <= transport_limits().batch_inline_total_max_bytes
    if ctx.settings.transport == "inline" and not fits_inline:
        raise ConfigError(
            f"transport=inline, but this batch is {total / 1e6:.1f} MB and inline batches must stay under "
            f"{transport_limits().batch_inline_total_max_bytes / 1e6:.0f} MB: use transport=auto or files"
        )
    if ctx.settings.transport in ("inline", "files"):
        return ctx.settings.transport
    if not fits_inline:
        return "files"
    return "url" if any(urls.values()) else "inline"


def submit_batches(ctx: RunContext, client: GeminiClient | None) -> list[str]:
    """Submit (or re-attach to) the first wave of batch jobs for the pending requests (pipeline/infer/
    waves.py: jobs under the per-job limits, as many as the caps allow); returns the jobs to wait for."""
    manifest, _pending = _prepare_manifest(ctx)
    ctx.save(manifest)
    return _submit_wave(ctx, manifest, client)


# A job that ends EXPIRED or FAILED is sent again for its unanswered keys this many times.
MAX_BATCH_RESUBMISSIONS = 2


def _failures(manifest: RunManifest) -> Counter[str]:
    """Per key, the collected jobs that held it and did not answer it (expired, failed, cancelled)."""
    count: Counter[str] = Counter()
    for submission in manifest.batches:
        if submission.collected:
            count.update(k for k in submission.keys if k not in manifest.outcomes)
    return count


def _wave_todo(ctx: RunContext, manifest: RunManifest) -> list[waves.Job]:
    """The jobs still to submit, planned over all of each model's requests so that the split is the
    same on every run, less what is answered or in flight (a job that lost some keys to an expired
    one is the rest of them)."""
    s = ctx.settings
    flying = {k for b in manifest.batches if not b.collected for k in b.keys}
    failed = _failures(manifest)
    prompt = ctx.task.prompt
    todo: list[waves.Job] = []
    for model, keys in by_model(manifest, list(manifest.requests)).items():
        urls = {k: _by_url(ctx, manifest, k) for k in keys}
        inline = {k: batch.inline_wire_bytes(manifest.requests[k].bytes, prompt) for k in keys}
        as_files = s.transport == "files" or (
            s.transport == "auto"
            and not all(urls.values())
            and sum(inline.values()) > transport_limits().batch_inline_total_max_bytes
        )
        sized = [
            waves.Sized(
                k,
                manifest.requests[k].estimated_prompt_tokens,
                batch.url_wire_bytes(prompt) if as_files or urls[k] else inline[k],
            )
            for k in keys
        ]
        limit = (
            transport_limits().batch_jsonl_max_bytes
            if as_files
            else transport_limits().batch_inline_total_max_bytes
        )
        cap = waves.enqueued_token_cap(s.batch_enqueued_token_cap, model)
        for planned in waves.plan_jobs(sized, max_job_bytes=limit, max_job_tokens=cap):
            left = [
                k
                for k in planned
                if k not in manifest.outcomes
                and k not in flying
                and not (s.on_batch_failure == "sync" and failed[k])  # those go synchronously
            ]
            if left:
                tokens = sum(manifest.requests[k].estimated_prompt_tokens for k in left)
                todo.append(waves.Job(model, tuple(left), tokens))
    return todo


def _in_flight(manifest: RunManifest) -> list[waves.Job]:
    return [
        waves.Job(
            model_of(manifest, b.keys[0]),
            tuple(b.keys),
            sum(manifest.requests[k].estimated_prompt_tokens for k in b.keys if k in manifest.requests),
        )
        for b in manifest.batches
        if not b.collected and b.keys
    ]


def _submit_wave(ctx: RunContext, manifest: RunManifest, client: GeminiClient | None) -> list[str]:
    """Submit the jobs that fit beside the ones in flight; returns every job in flight."""
    waiting = [b.job_name for b in manifest.batches if not b.collected]
    todo = _wave_todo(ctx, manifest) if manifest.resolved_mode == "batch" else []
    if not todo:
        return waiting  # nothing changed: nothing written (this runs on every poll)
    client = require_client(client)
    s = ctx.settings
    ensure_models_served(ctx, manifest, client, list(dict.fromkeys(j.model for j in todo)))
    caps = {j.model: waves.enqueued_token_cap(s.batch_enqueued_token_cap, j.model) for j in todo}
    wave = waves.next_wave(
        todo,
        _in_flight(manifest),
        max_jobs=waves.max_jobs_in_flight(s.batch_max_jobs_in_flight),
        token_caps=caps,
    )
    for job in wave:
        try:
            waiting.append(_submit_group(ctx, manifest, client, job.model, list(job.keys)))
        except waves.WaveFullError as exc:
            ctx.progress.note(f"{exc}; submitting the rest when a job in flight finishes")
            break
    if len(wave) < len(todo):
        ctx.progress.note(
            f"{len(waiting)} batch job(s) in flight; {len(todo) - len(wave)} more wait for the next wave"
        )
    ctx.save(manifest)
    return waiting


def _submit_group(
    ctx: RunContext, manifest: RunManifest, client: GeminiClient, model: str, keys: list[str]
) -> str:
    ledger = BatchLedger(ctx.store, ctx.dest)
    group = group_id(keys, model)
    if model == manifest.model:
        _ensure_prompt_cache(ctx, manifest, client)

    def intent(previous: LedgerRecord | None) -> LedgerRecord:
        # a record whose create was refused (429: the wave was full) never made a job: same name again
        resubmissions = (previous.resubmissions + (1 if previous.job_name else 0)) if previous else 0
        return LedgerRecord(
            group=group,
            display_name=f"gmp-{group}" + (f"-r{resubmissions}" if resubmissions else ""),
            keys=keys,
            transport=_transport(ctx, manifest, keys),
            resubmissions=resubmissions,
            history=previous.history if previous else [],
        )

    # intent first, conditionally: a crash during create is healed through batches.list, and of two
    # overlapping runs one creates the job while the other re-attaches to it (pipeline/infer/ledgers.py)
    record, etag, job_name = ledger.claim(client, group, ctx.run_id, intent, ctx.progress.note)
    if job_name is not None:
        ctx.progress.note(
            f"re-attaching to batch job {job_name} (already submitted for these {len(keys)} request(s) to {model})"
        )
        transport, uploaded = record.transport, record.uploaded_files
    else:
        transport, display_name = record.transport, record.display_name
        job_name, uploaded = _create(ctx, manifest, client, model, keys, transport, display_name)
        record.job_name, record.uploaded_files = job_name, uploaded
        if ledger.write_if(record, etag) is None:  # our intent went stale and another run took it over
            ctx.progress.note(
                f"batch intent {display_name} was taken over by another run while {job_name} was created"
            )
        ctx.progress.note(
            f"submitted batch job {job_name} ({transport}) with {len(keys)} request(s) to {model}"
        )
    manifest.batches.append(
        BatchSubmission(
            group=group,
            job_name=job_name,
            keys=keys,
            submitted_at=datetime.now(UTC),
            transport=transport,
            uploaded_files=uploaded,
        )
    )
    ctx.save(manifest)
    return job_name


def _create(
    ctx: RunContext,
    manifest: RunManifest,
    client: GeminiClient,
    model: str,
    keys: list[str],
    transport: str,
    display_name: str,
) -> tuple[str, list[str]]:
    """Create the job, retrying transient errors. An error may hide a job that was created anyway, so
    before each retry the job is looked up by its display name: found means re-attach, not create."""
    s = ctx.settings
    config = _config(ctx, manifest, model, sound=is_sound(manifest, keys))
    expires = media_urls.batch_url_expires_s()  # signed per attempt: a retried create gets fresh URLs
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            if transport == "files":
                # Read from staging as the uploads go: a Files API batch is over the inline cap by
                # definition, so its chunks are never all held at once.
                return filebatch.submit(
                    client,
                    model=model,
                    task=ctx.task,
                    requests=(load_request(ctx, manifest, k, url_expires_s=expires) for k in keys),
                    config=config,
                    display_name=display_name,
                )
            job = batch.submit_inline(
                client,
                model=model,
                task=ctx.task,
                requests=[load_request(ctx, manifest, k, url_expires_s=expires) for k in keys],
                config=config,
                display_name=display_name,
            )
            return job, []
        except GeminiTransientError as exc:
            full = exc.http_status == 429  # an enqueued-token or job cap: not this job's failure
            if attempt == CREATE_ATTEMPTS and not full:
                raise
            ctx.progress.note(f"{exc}; checking whether the job exists before trying again")
            if not full:
                time.sleep(backoff_delay(attempt, base=s.create_backoff_seconds))
            existing = find_by_display_name(client, display_name)
            if existing is not None:
                return existing, []
            if full:
                raise waves.WaveFullError(str(exc)) from exc
    raise AssertionError("unreachable: the last attempt returns or raises")


def _record(manifest: RunManifest, outcome: RequestOutcome) -> None:
    previous = manifest.outcomes.get(outcome.key)
    if previous is not None:
        manifest.history.append(previous)
        outcome.attempt = previous.attempt + 1
    manifest.outcomes[outcome.key] = outcome


def collect_batches(ctx: RunContext, client: GeminiClient | None, *, wait: bool = True) -> RunManifest:
    """Collect every submitted job as it finishes and submit the next wave until none is left (polling
    while `wait`; without it, look once), then send what is left synchronously: sync-mode requests, and
    retries of failed ones."""
    manifest = ctx.load()
    s = ctx.settings
    open_jobs = [b for b in manifest.batches if not b.collected]
    cache_held = manifest.prompt_cache is not None and manifest.prompt_cache.deleted_at is None
    if not open_jobs and not _keys_to_send(manifest, s.max_request_attempts) and not cache_held:
        manifest.stages_done.append("infer")  # nothing to send: no credentials needed
        ctx.save(manifest)
        return manifest
    client = require_client(client)
    started = time.monotonic()
    delays = PollingRule.for_batches(s.batch_poll_seconds).delays()
    # until no job is in flight and none is left to submit (a create refused 429 with none of ours in
    # flight, the cap held by someone else's jobs, is tried again on the next round)
    while (waiting := _step(ctx, manifest, client)) or _batches_left(ctx, manifest):
        waited = time.monotonic() - started
        if not wait or waited > s.batch_timeout_seconds:
            raise BatchJobFailedError(
                f"{len(waiting)} batch job(s) not done after {waited:.0f}s ({', '.join(waiting[:3])}), "
                "more waiting to be submitted; they keep running and a retry re-attaches",
                job_name=waiting[0] if waiting else "",
                state="TIMEOUT",
            )
        time.sleep(next(delays))
    _send_sync(ctx, manifest, client)
    _release_prompt_cache(ctx, manifest, client)
    manifest.stages_done.append("infer")
    ctx.save(manifest)
    return manifest


def _batches_left(ctx: RunContext, manifest: RunManifest) -> bool:
    return manifest.resolved_mode == "batch" and bool(_wave_todo(ctx, manifest))


def step_batches(ctx: RunContext, client: GeminiClient | None) -> list[str]:
    """Look once at the jobs in flight, collect those that finished and submit the next wave; returns
    the jobs still in flight (none: every batch request has its outcome, or is left to sync)."""
    manifest = ctx.load()
    return _step(ctx, manifest, require_client(client))


def _step(ctx: RunContext, manifest: RunManifest, client: GeminiClient) -> list[str]:
    for submission in [b for b in manifest.batches if not b.collected]:
        try:
            job = client.get_batch(submission.job_name)
        except GeminiTransientError:
            continue  # looked at again on the next round
        state = batch.state_name(job)
        if state in batch.TERMINAL_FAILURES:
            _ended_without_answers(ctx, manifest, client, submission, job, state)
        elif job.done or state == "JOB_STATE_SUCCEEDED":
            _collect_job(ctx, manifest, client, submission, job)
    return _submit_wave(ctx, manifest, client)


def _collect_job(
    ctx: RunContext,
    manifest: RunManifest,
    client: GeminiClient,
    submission: BatchSubmission,
    job: types.BatchJob,
) -> None:
    thinking = {
        k: _thinking(ctx, model_of(manifest, k), sound=is_sound(manifest, [k])) for k in submission.keys
    }
    when = submission.submitted_at
    if submission.transport == "files":
        outcomes = filebatch.collect(client, job, submission.keys, thinking=thinking, submitted_at=when)
        filebatch.delete_files(client, submission.uploaded_files)
    else:
        outcomes = batch.collect(job, submission.keys, thinking=thinking, submitted_at=when)
    for outcome in outcomes:
        _record(manifest, outcome)
    submission.collected = True
    ctx.save(manifest)
    ok = sum(1 for o in outcomes if o.status == "ok")
    ctx.progress.note(f"{submission.job_name}: {ok}/{len(outcomes)} answered")


def _ended_without_answers(
    ctx: RunContext,
    manifest: RunManifest,
    client: GeminiClient,
    submission: BatchSubmission,
    job: types.BatchJob,
    state: str,
) -> None:
    """An EXPIRED or FAILED job: keep what it answered, and its other keys go in the next wave (at most
    MAX_BATCH_RESUBMISSIONS times); on_batch_failure=sync sends them synchronously instead. A CANCELLED
    job (someone meant it) fails the run unless on_batch_failure=sync."""
    s = ctx.settings
    detail = job.error.message if job.error else "no detail given"
    failure = BatchJobFailedError(
        f"batch job {submission.job_name} ended {state}: {detail}",
        job_name=submission.job_name,
        state=state,
    )
    if state == "JOB_STATE_CANCELLED" and s.on_batch_failure != "sync":
        raise failure
    answered = [] if submission.transport == "files" else batch.answered(job, submission.keys)
    for outcome in answered:
        _record(manifest, outcome)
    if submission.transport == "files":
        filebatch.delete_files(client, submission.uploaded_files)
    submission.collected = True
    ctx.save(manifest)
    missing = [k for k in submission.keys if k not in manifest.outcomes]
    how = "synchronously (on_batch_failure=sync)" if s.on_batch_failure == "sync" else "in the next wave"
    ctx.progress.note(f"{failure}; {len(answered)} answered, sending its {len(missing)} other(s) {how}")
    if s.on_batch_failure != "sync" and any(
        _failures(manifest)[k] > MAX_BATCH_RESUBMISSIONS for k in missing
    ):
        raise failure


# Answers cut short: the retry gets more room and less thinking, once even when max_request_attempts is 1.
CUT_SHORT = ("MAX_TOKENS", "CONTINUATION")


def _cut_short(outcome: RequestOutcome | None) -> bool:
    return outcome is not None and not outcome.ok and outcome.finish_reason in CUT_SHORT


def _keys_to_send(manifest: RunManifest, max_attempts: int) -> list[str]:
    """Requests with no outcome yet, and failed ones that have attempts left."""
    todo = []
    for key in manifest.requests:
        outcome = manifest.outcomes.get(key)
        if outcome is None:
            todo.append(key)
        elif not outcome.ok:
            allowed = max(max_attempts, 2) if _cut_short(outcome) else max_attempts
            if outcome.attempt < allowed:
                todo.append(key)
    return todo


def _send_sync(ctx: RunContext, manifest: RunManifest, client: GeminiClient) -> None:
    # The claims this run wins are refreshed while their requests are in flight (ledgers.ClaimKeeper).
    with ClaimKeeper(ctx.store, ctx.settings.sync_claim_stale_seconds) as keeper:
        _send_sync_rounds(ctx, manifest, client, keeper)


def _send_sync_rounds(
    ctx: RunContext, manifest: RunManifest, client: GeminiClient, keeper: ClaimKeeper
) -> None:
    s = ctx.settings
    policy = sync.SyncPolicy(concurrency=s.sync_concurrency, rpm=s.sync_rpm, tpm=s.sync_tpm)
    answers = RequestLedger(
        ctx.store,
        ctx.dest,
        s.model,
        stale_s=s.sync_claim_stale_seconds,
        wait_s=s.sync_claim_wait_seconds,
        keeper=keeper,
    )
    for _round in range(s.max_request_attempts + 1):
        keys = _keys_to_send(manifest, s.max_request_attempts)
        keys = [k for k in keys if not _answered_before(manifest, answers, k)]
        if not keys:
            return
        retries = sum(1 for k in keys if k in manifest.outcomes)
        ctx.progress.start("infer (sync)", len(keys))
        if retries:
            ctx.progress.note(f"retrying {retries} failed request(s) synchronously")
        ensure_models_served(ctx, manifest, client, [model_of(manifest, k) for k in keys])
        if any(model_of(manifest, k) == manifest.model for k in keys):
            _ensure_prompt_cache(ctx, manifest, client)
        last_save = time.monotonic()
        others: dict[str, int] = {}  # key -> the attempt another run is sending
        sending: dict[str, int] = {}  # key -> the attempt this run claimed and is sending

        def claimed(key: str, others: dict[str, int] = others, sending: dict[str, int] = sending) -> bool:
            attempt = manifest.outcomes[key].attempt + 1 if key in manifest.outcomes else 1
            if answers.claim(key, attempt, ctx.run_id):
                sending[key] = attempt
                return True
            others[key] = attempt
            return False

        unsaved: set[str] = set()

        def arrived(
            outcome: RequestOutcome, unsaved: set[str] = unsaved, sending: dict[str, int] = sending
        ) -> None:
            nonlocal last_save
            _record(manifest, outcome)
            unsaved.add(outcome.key)
            if outcome.ok:
                answers.put(outcome)
            if outcome.key in sending:  # answered (in the ledger first): no longer kept fresh
                answers.release(outcome.key, sending.pop(outcome.key))
            ctx.progress.advance("infer (sync)", f"{outcome.key}: {outcome.status}")
            if time.monotonic() - last_save > MANIFEST_SAVE_INTERVAL_S:  # what was paid survives a crash
                ctx.save(manifest, changed_keys=unsaved)  # the shards of these answers, and the head
                unsaved.clear()
                last_save = time.monotonic()

        try:
            for model, group in by_model(manifest, keys).items():  # rate limits are per model too
                for escalate in (False, True):
                    batch_of = [k for k in group if _cut_short(manifest.outcomes.get(k)) == escalate]
                    if not batch_of:
                        continue
                    sound = is_sound(manifest, batch_of)
                    call = sync.SyncCall(
                        client,
                        model,
                        ctx.task,
                        _config(ctx, manifest, model, sound=sound, escalate=escalate),
                        thinking=_thinking(ctx, model, sound=sound, escalate=escalate),
                    )
                    requests = (load_request(ctx, manifest, k) for k in batch_of if claimed(k))
                    sync.run_sync(call, requests, policy=policy, on_outcome=arrived)
            # requests another (overlapping) run claimed: take its answers (ledgers.RequestLedger)
            for key, outcome in answers.wait(others, ctx.progress.note).items():
                if key in manifest.outcomes:
                    _record(manifest, outcome)
                else:
                    manifest.outcomes[key] = outcome
        finally:
            ctx.save(manifest)  # what was paid is recorded, also when the run stops here


def _answered_before(manifest: RunManifest, answers: RequestLedger, key: str) -> bool:
    """A first attempt whose answer an earlier, uncommitted run already paid for: take it."""
    if key in manifest.outcomes:
        return False
    earlier = answers.get(key)
    if earlier is None:
        return False
    manifest.outcomes[key] = earlier
    return True


def stage_infer(ctx: RunContext, client: GeminiClient | None) -> RunManifest:
    """Submit the first wave, then collect and submit wave after wave until every request has its
    outcome."""
    submit_batches(ctx, client)
    return collect_batches(ctx, client)
