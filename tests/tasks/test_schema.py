"""The response schema a request carries (pipeline.tasks.schema): pydantic's JSON Schema without titles,
defaults and single-use definitions, saying what the full one says to the model and accepting exactly
the answers the full one accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from pipeline.tasks import DESCRIBE
from pipeline.tasks.describe import MediaDescription
from pipeline.tasks.schema import response_schema

SEGMENT = {"start_s": 0, "end_s": 2.5, "label": "scene: red", "description": "A red frame."}
ANSWERS: list[dict[str, Any]] = [
    {"summary": "A red clip.", "tags": ["red"], "language": "und", "segments": [SEGMENT]},
    {"summary": "A photo.", "tags": ["photo"], "language": "en"},  # segments may be left out
    {"summary": "x", "tags": [], "language": "und", "segments": [{"start_s": 1, "end_s": 2, "label": "a"}]},
    {"summary": "", "tags": ["x"], "language": "und"},  # summary too short
    {"summary": "x", "language": "und"},  # tags missing
    {"summary": "x", "tags": "red", "language": "und"},  # tags not a list
    {"summary": "x", "tags": [], "language": "und", "segments": [{**SEGMENT, "start_s": -1}]},
    {"summary": "x", "tags": [], "language": "und", "segments": [{**SEGMENT, "label": ""}]},
    {"summary": "x", "tags": [], "language": "und", "segments": [{"start_s": 0, "label": "a"}]},
]


def _keys(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        return set(schema) | {k for v in schema.values() for k in _keys(v)}
    if isinstance(schema, list):
        return {k for v in schema for k in _keys(v)}
    return set()


def _descriptions(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["description"]] if isinstance(schema.get("description"), str) else []
        return own + [d for k, v in schema.items() if k != "description" for d in _descriptions(v)]
    if isinstance(schema, list):
        return [d for v in schema for d in _descriptions(v)]
    return []


def test_the_describe_schema_keeps_every_description_and_drops_titles_defaults_and_refs() -> None:
    full, sent = MediaDescription.model_json_schema(), DESCRIBE.response_schema()
    assert sorted(_descriptions(sent)) == sorted(_descriptions(full))
    assert not {"title", "default", "$defs", "$ref"} & _keys(sent)
    assert sent["properties"]["segments"]["items"]["required"] == ["start_s", "end_s", "label"]
    assert len(json.dumps(sent, separators=(",", ":"))) < len(json.dumps(full, separators=(",", ":")))


@pytest.mark.parametrize("answer", ANSWERS, ids=range(len(ANSWERS)))
def test_the_sent_schema_accepts_exactly_what_the_full_one_accepts(answer: dict[str, Any]) -> None:
    full = Draft202012Validator(MediaDescription.model_json_schema()).is_valid(answer)
    sent = Draft202012Validator(DESCRIBE.response_schema()).is_valid(answer)
    assert sent == full


def test_an_answer_that_leaves_a_default_out_still_gets_it() -> None:
    segment = {"start_s": 0, "end_s": 1, "label": "a"}
    answer = MediaDescription.model_validate(
        {"summary": "x", "tags": [], "language": "und", "segments": [segment]}
    )
    assert answer.segments[0].description == ""


class Leaf(BaseModel):
    x: int


class Node(BaseModel):
    title: str = "untitled"  # a property named like a keyword stays a property
    default: int
    kids: list[Node] = []


class Top(BaseModel):
    first: Leaf
    second: Leaf
    tree: Node


def test_properties_named_like_keywords_stay_and_shared_or_recursive_definitions_stay_referenced() -> None:
    sent = response_schema(Top)
    assert set(sent["$defs"]) == {"Leaf", "Node"}  # Leaf is used twice, Node refers to itself
    node = sent["$defs"]["Node"]
    assert set(node["properties"]) == {"title", "default", "kids"}
    assert node["properties"]["title"] == {"type": "string"}
    assert node["properties"]["kids"]["items"] == {"$ref": "#/$defs/Node"}
    assert sent["properties"]["first"] == sent["properties"]["second"] == {"$ref": "#/$defs/Leaf"}
    assert "title" not in sent and "title" not in node
