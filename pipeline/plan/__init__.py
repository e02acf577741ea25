"""plan: per source the chunks that fit the model, the settings they are prepared with, their tokens
and cost (expected and upper bound); the run's budget guard and model check before anything is paid."""

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
from pipeline.plan.history import answer_size_model, history_rows, request_kind
from pipeline.plan.stage import finish_plan, mark_duplicates, plan_item, stage_plan

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
