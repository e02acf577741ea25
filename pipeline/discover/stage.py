"""discover: list the date's partition, keep what may be media, refuse text and playlists early."""

from __future__ import annotations

from pipeline.discover.listing import discover_with_heads
from pipeline.errors import MediaError
from pipeline.media import check_head
from pipeline.models import MediaType
from pipeline.run.context import RunContext
from pipeline.run.state import ItemState, RunManifest


def stage_discover(ctx: RunContext) -> RunManifest:
    manifest = ctx.new_manifest()
    objects = discover_with_heads(ctx.store, ctx.source, ctx.dt, max_items=ctx.settings.max_items)
    ctx.progress.note(f"discovered {len(objects)} object(s) under {ctx.source.uri}/dt={ctx.dt.isoformat()}/")
    for obj, head in objects:
        item = ItemState(source=obj)
        if obj.bytes == 0:
            item.fail("discover", "empty_object", f"{obj.uri} is empty (0 bytes): re-upload the file")
        elif obj.sniffed_type == MediaType.UNKNOWN:
            # Text and playlists are refused here without a download; unknown binaries go on to
            # ffprobe, which knows more containers than the sniffer. The head is the one discover read.
            try:
                check_head(head, obj.uri, obj.uri)
            except MediaError as exc:
                item.fail("discover", exc.reason, str(exc))
        manifest.items.append(item)
    manifest.stages_done.append("discover")
    ctx.save(manifest)
    return manifest
