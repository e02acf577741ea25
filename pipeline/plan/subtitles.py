"""The subtitle cues a source's estimate counts (read at plan time, when the task asks for them)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import MediaError
from pipeline.media.subtitles import Cue, bitmap_note, extract_cues

if TYPE_CHECKING:
    from pipeline.run.state import ItemState
    from pipeline.tasks import Task

log = logging.getLogger("pipeline.run")


def subtitle_cues(item: ItemState, path: Path, task: Task) -> list[Cue]:
    """The cues of the item's text subtitle track where the task sends subtitles ([] otherwise). Bitmap
    tracks only (PGS, DVD): a warning on the item's row, nothing read. A track ffmpeg cannot read: a
    warning, and the item is answered without its subtitles."""
    probe = item.probe
    if probe is None or not task.subtitles:
        return []
    name = item.source.key.rsplit("/", 1)[-1]
    if probe.subtitle_stream is None:
        note = bitmap_note(probe, name)
        if note is not None and item.reason is None:
            item.warn("bitmap_subtitles", note)
        return []
    try:
        return extract_cues(path, probe, source=item.source.uri)
    except MediaError as exc:
        log.warning("%s", exc)
        if item.reason is None:
            item.warn(exc.reason, str(exc))
        return []
