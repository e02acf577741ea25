import pytest
from pydantic import BaseModel

from pipeline.errors import ConfigError
from pipeline.tasks import DESCRIBE, SpanRow, Task, get_task
from pipeline.validate import AnswerInvalid, parse_answer, valid_spans

CUSTOM = Task(name="count_people", version="people-v1", prompt="How many people?", response_model=BaseModel)


def test_builtin_and_module_tasks_resolve() -> None:
    assert get_task("describe") is DESCRIBE
    assert get_task("tests.tasks.test_tasks:CUSTOM").version == "people-v1"


def test_unknown_task_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="built-in tasks are describe"):
        get_task("nope")
    with pytest.raises(ConfigError, match="not a pipeline.tasks.Task"):
        get_task("tests.tasks.test_tasks:pytest")


def test_answers_are_validated_against_the_response_model() -> None:
    ok = parse_answer(DESCRIBE, '{"summary": "a", "tags": ["x"], "language": "und", "segments": []}')
    assert ok.tags == ["x"]
    with pytest.raises(AnswerInvalid) as bad_json:
        parse_answer(DESCRIBE, '{"summary": "a", "tags": [')
    assert bad_json.value.reason == "malformed_json"
    with pytest.raises(AnswerInvalid) as mismatch:
        parse_answer(DESCRIBE, '{"summary": "", "tags": "x"}')
    assert mismatch.value.reason == "schema_mismatch"
    assert "tags" in mismatch.value.detail


def test_spans_outside_the_clip_are_dropped_with_a_reason() -> None:
    kept, problems = valid_spans(
        [SpanRow(0, 5, "a"), SpanRow(5, 3, "b"), SpanRow(12, 20, "c"), SpanRow(8, 10.5, "d")], 10.0
    )
    assert [(s.label, s.end_s) for s in kept] == [("a", 5), ("d", 10.0)]
    assert len(problems) == 2 and "'b'" in problems[0] and "'c'" in problems[1]
