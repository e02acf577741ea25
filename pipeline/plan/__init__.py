"""plan: per source the chunks that fit the model, the settings they are prepared with, their tokens
and cost (expected and upper bound); the run's budget guard and model check before anything is paid."""

from typing import TYPE_CHECKING

from pipeline.plan.answer_size import AnswerSizeModel, HistoryRow, RequestKind, RequestSizes, fit
from pipeline.plan.budget import BUDGET_WARNING_SHARE, check_budget, near_budget
from pipeline.plan.chunk_plan import (
    plan_for_run,
    plan_media,
    prepared_image_size,
    prepared_video_size,
    source_settings,
    split_chunks,
)
from pipeline.plan.stage import finish_plan, mark_duplicates, plan_item, stage_plan

if TYPE_CHECKING:
    from pipeline.plan.history import answer_size_model, history_rows, request_kind

# The history reads the destination's tables (pyarrow): imported when first asked for, so the item pool's
# workers, which import this package to plan and prepare, never load it.
_FROM_HISTORY = frozenset({"answer_size_model", "history_rows", "request_kind"})


def __getattr__(name: str) -> object:
    if name in _FROM_HISTORY:
        from pipeline.plan import history

        return getattr(history, name)
    raise AttributeError(f"module 'pipeline.plan' has no attribute {name!r}")


__all__ = [
    "BUDGET_WARNING_SHARE",
    "AnswerSizeModel",
    "HistoryRow",
    "RequestKind",
    "RequestSizes",
    "answer_size_model",
    "check_budget",
    "near_budget",
    "finish_plan",
    "fit",
    "history_rows",
    "mark_duplicates",
    "plan_for_run",
    "plan_item",
    "plan_media",
    "prepared_image_size",
    "prepared_video_size",
    "request_kind",
    "source_settings",
    "split_chunks",
    "stage_plan",
]
