"""prepare: one ffmpeg pass per source; chunks go to the content-keyed staging area in S3."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.errors import MediaError
from pipeline.models import PreparedChunk
from pipeline.prepare.one_pass import prepare_media
from pipeline.run.context import RunContext
from pipeline.run.pool import ItemPool
from pipeline.run.state import ItemState, RunManifest


def prepare_item(ctx: RunContext, item: ItemState) -> None:
    """Prepare one item in place (chunks uploaded to the content-keyed staging area, `item.prepared` set,
    or the item failed with a reason). Touches no manifest: callers that prepare items in parallel
    (the Airflow DAG's mapped groups) keep their results apart and merge them once."""
    index = ctx.layout.chunk_index(item.source.sha256, item.fingerprint)
    # The lease first, the index next: a run committing the same content now either sees this lease and
    # keeps the chunks, or has deleted the index already, so this run prepares them again.
    lease = ctx.layout.chunk_lease(item.source.sha256, item.fingerprint, ctx.run_id)
    ctx.store.put_bytes(lease, b"", "application/octet-stream")
    cached = ctx.store.get_json_or_none(index)
    if cached is not None:  # an earlier try (or run) already prepared these exact chunks
        item.prepared = [PreparedChunk.model_validate(c) for c in cached]
        ctx.release_source(item)
        return
    assert item.plan is not None and item.probe is not None and ctx.scratch is not None
    out_dir = ctx.scratch / "chunks" / item.source.sha256[:16]
    try:
        path, _ = ctx.local_source(item)
        chunks = prepare_media(path, item.plan, item.probe, out_dir, subtitles=ctx.task.subtitles)
        _upload_chunks(ctx, item, chunks)
    except MediaError as exc:
        item.fail("prepare", exc.reason, str(exc))
        return
    finally:  # the chunks are in S3 now (or the item failed): neither local copy is read again
        shutil.rmtree(out_dir, ignore_errors=True)
        ctx.release_source(item)
    ctx.store.put_json(index, [c.model_dump() for c in chunks])
    item.prepared = chunks


def _upload_chunks(ctx: RunContext, item: ItemState, chunks: list[PreparedChunk]) -> None:
    prefix = ctx.chunk_prefix(item)
    for chunk in chunks:
        assert chunk.path is not None
        loc = prefix.join(chunk.path.rsplit("/", 1)[-1])
        ctx.store.upload(Path(chunk.path), loc)
        chunk.uri, chunk.path = loc.uri, None


def stage_prepare(ctx: RunContext, pool: ItemPool | None = None) -> RunManifest:
    """Prepare every active item, on `pool`'s processes when given (pipeline.run.pool), else one by one."""
    manifest = ctx.load()
    todo = [(n, i) for n, i in enumerate(manifest.items) if i.active]
    ctx.progress.start("prepare", len(todo))
    for index, item in (pool or ItemPool(ctx, workers=1)).map(prepare_item, todo):
        manifest.items[index] = item
        ctx.progress.advance(
            "prepare", f"{item.source.key.rsplit('/', 1)[-1]}: {len(item.prepared)} chunk(s)"
        )
    manifest.stages_done.append("prepare")
    ctx.save(manifest)
    return manifest
