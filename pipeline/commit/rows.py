"""The item rows one run contributes to media, annotations, segments and quarantine, built from its
manifest (no I/O). The requests and runs rows, with their exact costs, are pipeline.account's."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pipeline.media.colour import dynamic_range
from pipeline.models import ItemStatus, MediaType
from pipeline.run.state import ItemState, QuarantineRow, RunManifest

Row = dict[str, Any]
ZERO = Decimal("0E-9")


def media_row(manifest: RunManifest, item: ItemState, cost_usd: Decimal) -> Row:
    probe = item.probe
    return {
        "run_id": manifest.run_id,
        "source_uri": item.source.uri,
        "sha256": item.source.sha256 or None,
        "etag": item.source.etag,
        "media_type": (probe.media_type.value if probe else item.source.sniffed_type.value),
        "mime_type": item.source.sniffed_mime,
        "bytes": item.source.bytes,
        # a truncated file: duration_s is what its container claims, decodable_duration_s what was answered
        "duration_s": (probe.claimed_duration_s or probe.duration_s) if probe else None,
        "decodable_duration_s": probe.duration_s if probe and probe.claimed_duration_s else None,
        "width": probe.width if probe else None,
        "height": probe.height if probe else None,
        "status": item.status.value,
        "reason": item.reason,
        "error": item.error,
        "chunks": item.chunk_count() if item.active or item.status == ItemStatus.QUARANTINED else 0,
        "estimated_cost_usd": item.estimated_cost_usd,
        "estimated_cost_upper_usd": item.estimated_cost_upper_usd,
        "cost_usd": cost_usd,
        "reused_from_run_id": item.reused_from_run_id,
        "decoder": probe.decoder if probe else None,
        "animation": probe.animation if probe else None,
        "dynamic_range": _dynamic_range(item),
        "audio_tracks": probe.tracks("audio") if probe else None,
        "subtitle_tracks": probe.tracks("subtitle") if probe else None,
    }


def _dynamic_range(item: ItemState) -> str | None:
    """A video's 'sdr', or 'pq' / 'hlg' (tone-mapped to SDR BT.709 in preparation); None otherwise."""
    probe = item.probe
    stream = probe.video_info() if probe and probe.media_type is MediaType.VIDEO else None
    return dynamic_range(stream) if stream is not None else None


def answer_rows(manifest: RunManifest, item: ItemState) -> tuple[list[Row], list[Row]]:
    """The item's annotation row and segment rows (none unless it is ok and answered)."""
    if item.status != ItemStatus.OK or item.answer is None:
        return [], []
    uri, answer, probe = item.source.uri, item.answer, item.probe
    annotation = {
        "run_id": manifest.run_id,
        "source_uri": uri,
        "sha256": item.source.sha256,
        "media_type": probe.media_type.value if probe else None,
        "summary": answer.summary,
        "tags": answer.tags,
        "language": answer.language,
        "model": manifest.model,
        "task": manifest.task,
        "task_version": manifest.task_version,
        "answer_json": json.dumps(answer.answers),
    }
    segments = [
        {
            "run_id": manifest.run_id,
            "source_uri": uri,
            "segment_index": index,
            "start_s": span.start_s,
            "end_s": span.end_s,
            "label": span.label,
            "description": span.description,
            "chunk_indexes": span.chunk_indexes,
        }
        for index, span in enumerate(answer.spans)
    ]
    return [annotation], segments


def failed_item_rows(manifest: RunManifest) -> list[QuarantineRow]:
    return [
        QuarantineRow(
            source_uri=i.source.uri, stage=i.stage or "probe", reason=i.reason or "failed", detail=i.error
        )
        for i in manifest.items
        if i.status == ItemStatus.FAILED
    ]
