"""The DAG's trigger form, made from the Settings declaration (`pipeline.config`), and the way back.

Each setting marked `per_run("dag", ...)` becomes a param of the same name: its type, description, limits
and choices come from its field; models and media resolutions are the catalog's current ones. The form
shows each setting's effective default, resolved when the DAG file is parsed: the `MEDIA_PIPELINE_*`
environment of the process that parses it (else the code default), with the default task's
`prepare_defaults` applied. Every Airflow process of a deployment shares that environment (see
docker/docker-compose.yml), and a worker parses the same file, so the form shows what a run would use.

The way back (`setting_overrides`): a param still at the value the run would take anyway is not an
override, so the worker's environment and the run's task keep deciding what nobody changed (a task's
`prepare_defaults` fill only the settings a run did not set). An empty or null param is not one either.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from airflow.sdk import Param

from pipeline.config import NO_AUDIO_MODEL, Settings, catalog_choices, per_run_settings, run_defaults

# Params a user may set per run (trigger form / dag_run.conf); everything else comes from MEDIA_PIPELINE_*.
SETTING_PARAMS = per_run_settings("dag")
# The JSON-schema keywords a field's constraints become (pydantic's names are JSON Schema's).
_SCHEMA_KEYWORDS = (
    "type",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "pattern",
    "minLength",
    "maxLength",
)


def setting_params(defaults: Mapping[str, Any] | None = None, on: date | None = None) -> dict[str, Param]:
    """One Param per per-run setting, in declaration order, its default the effective one (`defaults`:
    `run_defaults()` unless given) and its choices the catalog's on `on` (today)."""
    defaults = run_defaults() if defaults is None else defaults
    fields = Settings.model_json_schema()["properties"]
    return {
        name: Param(_form_value(name, defaults[name]), **param_schema(name, on, fields[name]))
        for name in SETTING_PARAMS
    }


def param_schema(name: str, on: date | None = None, prop: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON schema of one setting's param, from its field's (`prop`: Settings' JSON schema of it). A
    setting with choices offers exactly those (no null choice: its default is always one of them); any
    other param may also be null, which leaves the setting to the environment."""
    field = Settings.model_fields[name]
    prop = Settings.model_json_schema()["properties"][name] if prop is None else prop
    branches = [branch for branch in prop.get("anyOf", [prop]) if branch.get("type") != "null"]
    if len(branches) != 1:
        raise TypeError(f"Settings.{name}: a per-run setting needs one JSON type, got {branches}")
    schema = {
        key: value
        for source in (prop, branches[0])
        for key, value in source.items()
        if key in _SCHEMA_KEYWORDS
    }
    choices = catalog_choices(name, on)
    if choices is not None:
        schema["enum"] = choices
    if "enum" not in schema:
        schema["type"] = ["null", schema["type"]]
    return {**schema, "description": field.description}


def setting_overrides(params: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings a run's params change: those set (not null or empty) to something other than what
    the run would take anyway (`defaults`: `run_defaults()` in this process unless given)."""
    defaults = run_defaults() if defaults is None else defaults
    return {
        name: params[name]
        for name in SETTING_PARAMS
        if params.get(name) not in (None, "") and params[name] != _form_value(name, defaults[name])
    }


def _form_value(name: str, value: Any) -> Any:
    """A setting's value as the form shows it: no sound model is the `none` choice."""
    return NO_AUDIO_MODEL if name == "audio_model" and value is None else value
