"""validate: every answer against its task's pydantic model (re-asked once when invalid), stitched onto
the source's timeline, every span against its clip; every table against its Great Expectations suite
before commit (pipeline.validate.quality)."""

from pipeline.validate.answers import ledger_entry
from pipeline.validate.frames import validation_frames
from pipeline.validate.records import AnswerInvalid, parse_answer, valid_spans
from pipeline.validate.stage import stage_validate

__all__ = [
    "AnswerInvalid",
    "ledger_entry",
    "parse_answer",
    "stage_validate",
    "valid_spans",
    "validation_frames",
]
