"""The response schema as a request carries it: the task's pydantic model's JSON Schema without what the
service does not use.

Every request of a batch repeats its generationConfig, so each byte of the schema is paid once per
chunk on the wire (issue #12: under 2 KB per URL request). Dropped:
- `title`: pydantic's, made from the class and field names ("Start S" for `start_s`); the names are
  already the property keys, and JSON Schema titles are annotations.
- `default`: an annotation in JSON Schema that constrains nothing (the API's own Schema type documents
  it as accepted and ignored); pydantic applies it when the answer is validated, so a field the model
  leaves out still gets it.
- a `$defs` entry used once and referring to nothing: written in place of its `$ref` (a nested model,
  such as the describe task's Segment, is then said where it is used).
Kept: types, `description`s (what the model reads to fill a field), `required`, and the constraint
keywords the service documents (minimum, minLength, ...).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel

# Keywords whose value is a schema, or a map / list of schemas: the walk goes into these only, so a
# property *named* "title" or "default" stays (it is a key of `properties`, not a keyword).
_SUBSCHEMA = frozenset({"items", "additionalProperties", "not", "contains", "propertyNames"})
_SUBSCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
_SUBSCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
DROPPED = frozenset({"title", "default"})
_DEFS = "#/$defs/"


def response_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON Schema as requests send it (`responseJsonSchema`): a fresh copy each call, made
    once a model (every request asks for it; making it takes ~0.35 ms, 35 s of a 100,000-request night)."""
    loaded: dict[str, Any] = json.loads(_response_schema_json(model))
    return loaded


@cache
def _response_schema_json(model: type[BaseModel]) -> str:
    schema: dict[str, Any] = _lean(model.model_json_schema())
    defs: dict[str, Any] = schema.pop("$defs", {})
    while once := [name for name, sub in defs.items() if _uses(schema, defs, name) == 1 and _leaf(sub)]:
        inlined = {name: defs.pop(name) for name in once}
        schema = _inline(schema, inlined)
        defs = {name: _inline(sub, inlined) for name, sub in defs.items()}
    return json.dumps({"$defs": defs, **schema} if defs else schema)


def _uses(schema: dict[str, Any], defs: dict[str, Any], name: str) -> int:
    ref = json.dumps({"$ref": _DEFS + name})[1:-1]  # '"$ref": "#/$defs/Name"'
    return json.dumps([schema, defs]).count(ref)


def _leaf(sub: Any) -> bool:
    """A definition that refers to no other (inlining it can never loop)."""
    return '"$ref"' not in json.dumps(sub)


def _walk(schema: Any, node: Any) -> Any:
    """`schema` with `node(sub)` applied to it and every subschema below it, keywords only."""
    if not isinstance(schema, dict):
        return schema  # `items: false`, `additionalProperties: true`
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SUBSCHEMA:
            value = [_walk(v, node) for v in value] if isinstance(value, list) else _walk(value, node)
        elif key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            value = {name: _walk(v, node) for name, v in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            value = [_walk(v, node) for v in value]
        out[key] = value
    return node(out)


def _lean(schema: Any) -> Any:
    return _walk(schema, lambda sub: {k: v for k, v in sub.items() if k not in DROPPED})


def _inline(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    def node(sub: dict[str, Any]) -> dict[str, Any]:
        ref = sub.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS) and ref.removeprefix(_DEFS) in defs:
            # the use's own keywords (a field's description) win over the definition's
            rest = {k: v for k, v in sub.items() if k != "$ref"}
            return {**defs[ref.removeprefix(_DEFS)], **rest}
        return sub

    result: dict[str, Any] = _walk(schema, node)
    return result
