"""Earlier billed requests of a task version, read back from the destination's committed tables."""

from __future__ import annotations

from typing import Any

from pipeline.plan.answer_size import AnswerSizeModel, HistoryRow, RequestKind, fit
from pipeline.storage import S3Location, S3Store
from pipeline.tables import committed_dates, read_table
from pipeline.tasks import Task

HISTORY_DATES = 7  # the most recent committed dates read (a night's requests are plenty per kind)


def request_kind(row: dict[str, Any]) -> RequestKind | None:
    """What a `requests` row carried: a split video's picture or sound, an image, a video or audio."""
    key = str(row.get("request_key") or "").removesuffix("-reask")
    if key.endswith("-picture"):
        return "picture"
    if key.endswith("-sound"):
        return "sound"
    if row.get("prompt_tokens_image"):
        return "image"
    if row.get("prompt_tokens_video"):
        return "video"
    if row.get("prompt_tokens_audio"):
        return "audio"
    return None


def history_rows(store: S3Store, dest: S3Location, task: Task) -> tuple[list[HistoryRow], list[str]]:
    """First attempts billed by runs of `task.version` on the latest committed dates. Latest by date,
    whatever the date of the run being planned: a backfill of an old date learns from the newest
    answers, which are the ones the model writes today."""
    dates = committed_dates(store, dest)[-HISTORY_DATES:]
    rows: list[HistoryRow] = []
    for dt in dates:
        runs = {
            r["run_id"]
            for r in read_table(store, dest, "runs", dt).to_pylist()
            if r.get("task_version") == task.version
        }
        if not runs:
            continue
        for r in read_table(store, dest, "requests", dt).to_pylist():
            kind = request_kind(r)
            if (
                r["run_id"] not in runs
                or r.get("mode") == "cache"
                or kind is None
                or int(r.get("attempt") or 1) != 1
                or r.get("reask_of")
                or not (r.get("output_tokens") or r.get("thought_tokens"))
            ):
                continue
            start, end = r.get("chunk_start_s") or 0.0, r.get("chunk_end_s") or 0.0
            rows.append(
                HistoryRow(
                    model=r["model"],
                    kind=kind,
                    thinking=str(r.get("thinking_level") or "DEFAULT"),
                    seconds=max(0.0, end - start),
                    output_tokens=int(r.get("output_tokens") or 0),
                    thought_tokens=int(r.get("thought_tokens") or 0),
                    billed_model=r.get("billed_model"),
                )
            )
    return rows, dates


def answer_size_model(store: S3Store, dest: S3Location, task: Task) -> AnswerSizeModel:
    """The estimator for a run of `task`: fitted on its history, the prior otherwise."""
    rows, dates = history_rows(store, dest, task)
    if not rows:
        return AnswerSizeModel(prior=task.answer_prior)
    described = (
        f"history: {len(rows)} billed request(s) of {task.version} on {len(dates)} date(s) "
        f"{dates[0]}..{dates[-1]} under {dest.uri}"
    )
    return fit(rows, task.answer_prior, described)
