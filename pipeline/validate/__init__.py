"""validate: every answer against its task's pydantic model, every span against its clip."""

from pipeline.validate.records import AnswerInvalid, parse_answer, valid_spans

__all__ = ["AnswerInvalid", "parse_answer", "valid_spans"]
