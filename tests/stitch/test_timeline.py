from pipeline.stitch import ChunkAnswer, stitch
from pipeline.tasks import DESCRIBE, SpanRow
from pipeline.tasks.describe import MediaDescription, Segment


def _answer(spans: list[tuple[float, float, str]], tags: list[str], summary: str = "s") -> MediaDescription:
    return MediaDescription(
        summary=summary,
        tags=tags,
        language="und",
        segments=[Segment(start_s=a, end_s=b, label=label) for a, b, label in spans],
    )


def _chunk(
    index: int, start: float, duration: float, spans: list[tuple[float, float, str]], tags: list[str]
) -> ChunkAnswer:
    answer = _answer(spans, tags, summary=f"part {index}")
    return ChunkAnswer(index, start, duration, answer, [SpanRow(a, b, label) for a, b, label in spans])


def test_spans_move_onto_the_source_timeline_and_overlaps_merge() -> None:
    # chunk 0 covers [0, 60), chunk 1 covers [56, 100): a cut at 58 is seen by both.
    first = _chunk(
        0,
        0.0,
        60.0,
        [(0, 20, "scene: red"), (20, 58, "scene: blue"), (58, 60, "scene: green")],
        ["red", "blue"],
    )
    second = _chunk(
        1,
        56.0,
        44.0,
        [(0, 2, "scene: blue"), (2, 30, "scene: green"), (30, 44, "scene: red")],
        ["green", "blue"],
    )
    result = stitch(DESCRIBE, [second, first], source_duration_s=100.0)
    assert [(s.start_s, s.end_s, s.label) for s in result.spans] == [
        (0.0, 20.0, "scene: red"),
        (20.0, 58.0, "scene: blue"),
        (58.0, 86.0, "scene: green"),
        (86.0, 100.0, "scene: red"),
    ]
    assert result.spans[2].chunk_indexes == [0, 1]
    assert result.tags[0] == "blue"  # seen by both chunks
    assert result.summary == "part 0 part 1"


def test_same_label_within_one_chunk_stays_two_spans() -> None:
    only = _chunk(
        0, 10.0, 30.0, [(0, 5, "audio: loud"), (5, 8, "audio: silent"), (8, 30, "audio: loud")], ["tone"]
    )
    result = stitch(DESCRIBE, [only], source_duration_s=40.0)
    assert [(s.start_s, s.end_s) for s in result.spans] == [(10.0, 15.0), (15.0, 18.0), (18.0, 40.0)]


def test_spans_are_clipped_to_the_source_duration() -> None:
    only = _chunk(0, 90.0, 10.0, [(0, 10.5, "scene: red")], ["red"])
    assert stitch(DESCRIBE, [only], source_duration_s=100.0).spans[0].end_s == 100.0


def test_rounding_never_pushes_a_span_past_the_source_end() -> None:
    only = _chunk(0, 0.0, 8.562756, [(0, 8.562756, "audio: loud")], ["tone"])
    (span,) = stitch(DESCRIBE, [only], source_duration_s=8.562756).spans
    assert span.end_s == 8.562756
