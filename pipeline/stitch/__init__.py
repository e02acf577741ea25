"""stitch: each chunk's answer onto the source's timeline, overlaps merged: one answer per source."""

from pipeline.stitch.timeline import AbsoluteSpan, ChunkAnswer, StitchedAnswer, stitch

__all__ = ["AbsoluteSpan", "ChunkAnswer", "StitchedAnswer", "stitch"]
