"""Answer and thought tokens before they are billed: learned from earlier runs, or a documented prior."""

from pipeline.estimate.answer_size import AnswerSizeModel, HistoryRow, RequestKind, RequestSizes, fit
from pipeline.estimate.history import answer_size_model, history_rows, request_kind

__all__ = [
    "AnswerSizeModel",
    "HistoryRow",
    "RequestKind",
    "RequestSizes",
    "answer_size_model",
    "fit",
    "history_rows",
    "request_kind",
]
