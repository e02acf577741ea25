"""Shift chunk-relative spans onto the source's timeline and merge what overlapping chunks both saw."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel

from pipeline.tasks import SpanRow, Task, merge_language

# Spans of the same label from neighbouring chunks that overlap, or nearly touch, are one span.
MERGE_GAP_S = 1.0


@dataclass
class ChunkAnswer:
    chunk_index: int
    start_s: float  # real start of the chunk on the source's timeline
    duration_s: float
    answer: BaseModel
    spans: list[SpanRow]  # already validated, clip-relative


@dataclass
class AbsoluteSpan:
    start_s: float
    end_s: float
    label: str
    description: str
    chunk_indexes: list[int] = field(default_factory=list)


@dataclass
class StitchedAnswer:
    summary: str
    tags: list[str]
    language: str | None
    spans: list[AbsoluteSpan]
    answers: list[BaseModel]


def _merge(spans: list[AbsoluteSpan]) -> list[AbsoluteSpan]:
    merged: list[AbsoluteSpan] = []
    open_by_label: dict[str, AbsoluteSpan] = {}
    for span in sorted(spans, key=lambda s: (s.start_s, s.end_s)):
        current = open_by_label.get(span.label)
        from_other_chunk = current is not None and not set(span.chunk_indexes) <= set(current.chunk_indexes)
        if current is not None and from_other_chunk and span.start_s <= current.end_s + MERGE_GAP_S:
            current.end_s = max(current.end_s, span.end_s)
            current.chunk_indexes = sorted(set(current.chunk_indexes) | set(span.chunk_indexes))
            if len(span.description) > len(current.description):
                current.description = span.description
            continue
        copy = AbsoluteSpan(span.start_s, span.end_s, span.label, span.description, list(span.chunk_indexes))
        merged.append(copy)
        open_by_label[span.label] = copy
    return sorted(merged, key=lambda s: (s.start_s, s.end_s, s.label))


def stitch(task: Task, chunks: list[ChunkAnswer], *, source_duration_s: float | None) -> StitchedAnswer:
    chunks = sorted(chunks, key=lambda c: c.chunk_index)
    absolute: list[AbsoluteSpan] = []
    for chunk in chunks:
        for span in chunk.spans:
            # Millisecond precision, then clipped: rounding must never push a span past the source's end.
            start = round(chunk.start_s + span.start_s, 3)
            end = round(chunk.start_s + span.end_s, 3)
            if source_duration_s is not None:
                end = min(end, source_duration_s)
            if end > start:
                absolute.append(AbsoluteSpan(start, end, span.label, span.description, [chunk.chunk_index]))
    summaries: list[str] = []
    for chunk in chunks:
        text = task.summary(chunk.answer).strip()
        if text and text not in summaries:
            summaries.append(text)
    tag_counts = Counter(t.strip().lower() for c in chunks for t in task.tags(c.answer) if t and t.strip())
    return StitchedAnswer(
        summary=" ".join(summaries),
        tags=[tag for tag, _ in tag_counts.most_common()],
        language=merge_language([task.language(c.answer) for c in chunks]),
        spans=_merge(absolute),
        answers=[c.answer for c in chunks],
    )
