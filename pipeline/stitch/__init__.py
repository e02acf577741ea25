"""stitch: chunk answers -> one answer per source, on the source's timeline."""

from pipeline.stitch.timeline import AbsoluteSpan, ChunkAnswer, StitchedAnswer, stitch

__all__ = ["AbsoluteSpan", "ChunkAnswer", "StitchedAnswer", "stitch"]
