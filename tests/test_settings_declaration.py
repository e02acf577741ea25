"""The settings are declared once (pipeline/config.py); every copy of them is made from or checked
against that declaration: the DAG's params, the `media-pipeline run` options, the README's table and
PrepareSettings (whose values, part of the content fingerprint, must not move)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import annotated_types
import pytest
from airflow.sdk import Param
from pydantic import ValidationError
from typer.core import TyperGroup, TyperOption

from pipeline.airflow.params import SETTING_PARAMS, param_schema, setting_overrides, setting_params
from pipeline.airflow.runs import settings_from
from pipeline.catalog import current_models, known_models
from pipeline.config import (
    README_TABLE_END,
    README_TABLE_START,
    Settings,
    per_run_settings,
    run_defaults,
    settings_table_markdown,
)
from pipeline.errors import ConfigError
from pipeline.models import PrepareSettings
from pipeline.plan.stage import settings_fingerprint
from pipeline.tasks import DESCRIBE
from tests.conftest import REPO

# The names users rely on: the DAG params and `run` options that existed before the declaration.
DAG_PARAMS_BEFORE = {
    "source", "dest", "model", "task", "mode", "budget_usd", "max_items", "dry_run", "max_chunk_seconds",
    "video_fps", "max_height", "keep_audio", "audio_model",
}  # fmt: skip
CLI_OPTIONS_BEFORE = {"source", "dest", "mode", "model", "task", "budget_usd", "max_items", "dry_run"}
# What PrepareSettings held for a default run before it lost its own defaults (static_fps: the Settings'
# 0.5 is what every run has used, since runs always built it from Settings; its own None only served tests).
PREPARE_BEFORE = {
    "video_fps": 1.0,
    "max_height": 360,
    "keep_audio": True,
    "audio_sample_rate": 16000,
    "audio_bitrate": "32k",
    "image_max_px": 768,
    "media_resolution": "MEDIA_RESOLUTION_LOW",
    "fast": False,
    "static_fps": 0.5,
    "audio_model": None,
}
JSON_TYPES = {str: "string", float: "number", int: "integer", bool: "boolean"}
CONSTRAINTS = {
    annotated_types.Ge: ("minimum", "ge"),
    annotated_types.Gt: ("exclusiveMinimum", "gt"),
    annotated_types.Le: ("maximum", "le"),
    annotated_types.Lt: ("exclusiveMaximum", "lt"),
}


def _json_type(name: str) -> str:
    """The JSON type of a setting, from its annotation (Optional unwrapped, a Literal of strings)."""
    annotation = Settings.model_fields[name].annotation
    if typing.get_origin(annotation) is typing.Literal:
        return "string"
    (base,) = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return JSON_TYPES[cast(type, base)]


def _cli_json_type(name: str) -> str:
    """The JSON type of a `run` option, from the command function's annotation."""
    from pipeline.cli import run

    annotation = typing.get_type_hints(run)[name]  # Annotated stripped: `str | None`, `bool`
    (base,) = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return JSON_TYPES[cast(type, base)]


def _form(name: str, value: object) -> object:
    return "none" if name == "audio_model" and value is None else value


# -- the declaration ---------------------------------------------------------------------------------


def test_the_per_run_settings_keep_every_name_users_set_today() -> None:
    dag, cli = set(per_run_settings("dag")), set(per_run_settings("cli"))
    assert dag >= DAG_PARAMS_BEFORE | {"overlap_seconds", "media_resolution"}
    assert cli == CLI_OPTIONS_BEFORE
    assert cli <= dag  # a run option of the CLI is a param of the DAG as well
    assert SETTING_PARAMS == per_run_settings("dag")
    assert all(Settings.model_fields[name].description for name in Settings.model_fields)
    # the one fact of another module a description repeats
    assert f"describe: {DESCRIBE.prepare_defaults['audio_model']}" in str(
        Settings.model_fields["audio_model"].description
    )


# -- the DAG's params ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dag_params() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags["media_pipeline"].params


def test_the_dag_has_one_param_per_per_run_setting(dag_params: Any) -> None:
    assert set(dag_params.keys()) == {"date", *per_run_settings("dag")}


def test_each_param_takes_type_description_and_limits_from_its_field(dag_params: Any) -> None:
    for name in per_run_settings("dag"):
        param, field = dag_params.get_param(name), Settings.model_fields[name]
        assert param.description == field.description, name
        types = param.schema["type"]
        assert _json_type(name) in (types if isinstance(types, list) else [types]), name
        for meta in field.metadata:
            if type(meta) in CONSTRAINTS:
                keyword, attr = CONSTRAINTS[type(meta)]
                assert param.schema[keyword] == getattr(meta, attr), (name, keyword)


def test_choices_are_exactly_the_allowed_values_and_never_null(dag_params: Any) -> None:
    for name in per_run_settings("dag"):
        schema = dag_params.get_param(name).schema
        if "enum" in schema:
            assert None not in schema["enum"] and schema["type"] == _json_type(name), name
    mode = typing.get_args(Settings.model_fields["mode"].annotation)
    assert dag_params.get_param("mode").schema["enum"] == list(mode) == ["batch", "sync", "auto"]
    models = current_models()
    assert dag_params.get_param("model").schema["enum"] == models
    assert dag_params.get_param("audio_model").schema["enum"] == ["none", *models]
    retired = set(known_models()) - set(models)
    assert retired and not retired & set(models)
    assert "MEDIA_RESOLUTION_LOW" in dag_params.get_param("media_resolution").schema["enum"]


def test_the_form_shows_each_settings_effective_default(dag_params: Any) -> None:
    defaults = run_defaults()
    for name in per_run_settings("dag"):
        param = dag_params.get_param(name)
        assert param.value == _form(name, defaults[name]), name
        assert param.resolve(param.value) == param.value  # the default passes its own schema
        if not Settings.model_fields[name].is_required() and Settings.model_fields[name].default is not None:
            assert param.value is not None, name
    # describe's sound model: the value a run uses, not a "null" nobody can read
    assert dag_params.get_param("audio_model").value == DESCRIBE.prepare_defaults["audio_model"]


def test_the_form_default_follows_the_environment_of_the_parsing_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIA_PIPELINE_MODE", "sync")
    monkeypatch.setenv("MEDIA_PIPELINE_VIDEO_FPS", "2")
    monkeypatch.setenv("MEDIA_PIPELINE_AUDIO_MODEL", "none")
    params = setting_params()
    assert (params["mode"].value, params["video_fps"].value, params["audio_model"].value) == (
        "sync",
        2.0,
        "none",
    )


def test_a_schema_with_two_json_types_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = Settings.model_json_schema()
    schema["properties"]["max_items"] = {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}
    monkeypatch.setattr(Settings, "model_json_schema", classmethod(lambda cls: schema))
    with pytest.raises(TypeError, match="max_items"):
        param_schema("max_items")


# -- params -> Settings --------------------------------------------------------------------------------


def _resolved(params: dict[str, Param]) -> dict[str, Any]:
    return {name: param.value for name, param in params.items()}


def test_a_run_left_at_the_form_defaults_overrides_nothing() -> None:
    assert setting_overrides(_resolved(setting_params())) == {}
    assert settings_from({"params": _resolved(setting_params())}) == Settings()


def test_changed_params_override_and_empty_ones_do_not() -> None:
    params = {**_resolved(setting_params()), "mode": "sync", "video_fps": 0.5, "max_items": 2, "dest": ""}
    assert setting_overrides(params) == {"mode": "sync", "video_fps": 0.5, "max_items": 2}
    settings = settings_from({"params": params})
    assert (settings.mode, settings.video_fps, settings.max_items) == ("sync", 0.5, 2)
    assert settings.dest == Settings().dest


def test_none_turns_the_sound_split_off_and_the_default_leaves_it_to_the_task() -> None:
    params = _resolved(setting_params())
    assert settings_from({"params": params}).prepare_settings(DESCRIBE).audio_model == "gemini-3.5-flash-lite"
    off = settings_from({"params": {**params, "audio_model": "none"}})
    assert off.prepare_settings(DESCRIBE).audio_model is None


def test_a_param_at_its_default_leaves_the_task_its_prepare_defaults() -> None:
    visual = dataclasses.replace(DESCRIBE, prepare_defaults={"video_fps": 0.5})
    params = _resolved(setting_params())
    assert params["video_fps"] == 1.0
    assert settings_from({"params": params}).prepare_settings(visual).video_fps == 0.5
    chosen = settings_from({"params": {**params, "video_fps": 2.0}})
    assert chosen.prepare_settings(visual).video_fps == 2.0


def test_the_workers_environment_decides_what_the_run_did_not_change(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = _resolved(setting_params())  # parsed where MEDIA_PIPELINE_MODE is unset
    monkeypatch.setenv("MEDIA_PIPELINE_MODE", "sync")
    assert setting_overrides(shown) == {"mode": "batch"}  # the form said batch: the run asked for it
    monkeypatch.setenv("MEDIA_PIPELINE_MODE", "batch")
    assert setting_overrides(shown) == {}


def test_params_that_do_not_validate_are_a_terminal_config_error() -> None:
    with pytest.raises(
        ConfigError, match="media_resolution .*MEDIA_RESOLUTION_ULTRA_HIGH.* fix the DAG param"
    ):
        settings_from(
            {"params": {"model": "gemini-2.5-flash-lite", "media_resolution": "MEDIA_RESOLUTION_ULTRA_HIGH"}}
        )


# -- the CLI's options -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_options() -> dict[str, TyperOption]:
    """The `run` command's options, as Typer builds them for the command line."""
    from typer.main import get_command

    from pipeline.cli import app

    command = cast(TyperGroup, get_command(app)).commands["run"]
    return {p.name: p for p in command.params if isinstance(p, TyperOption) and p.name}


def test_every_cli_setting_has_its_option_named_and_described_by_its_field(
    run_options: dict[str, TyperOption],
) -> None:
    for name in per_run_settings("cli"):
        option = run_options[name]
        assert option.opts == [f"--{name.replace('_', '-')}"], name
        assert option.help == Settings.model_fields[name].description, name
        assert _json_type(name) == _cli_json_type(name), name


def test_every_run_option_that_is_a_setting_is_a_declared_one(run_options: dict[str, TyperOption]) -> None:
    settings_options = {name for name in run_options if name in Settings.model_fields}
    assert settings_options == set(per_run_settings("cli"))
    assert set(run_options) - settings_options == {"date_", "run_id"}


# -- the README ----------------------------------------------------------------------------------------------


def _readme_table(text: str) -> str:
    start, end = text.index(README_TABLE_START) + len(README_TABLE_START), text.index(README_TABLE_END)
    return text[start:end].lstrip("\n")


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (REPO / "README.md").read_text()
    assert _readme_table(readme) == settings_table_markdown(), (
        "README settings table is stale: run `python -m pipeline.config --readme README.md`"
    )


def test_the_table_names_every_setting_once() -> None:
    rows = [line for line in settings_table_markdown().splitlines() if line.startswith("| `MEDIA_PIPELINE_")]
    assert [row.split("`")[1] for row in rows] == [
        f"MEDIA_PIPELINE_{n.upper()}" for n in Settings.model_fields
    ]
    assert len(rows) == len(Settings.model_fields) >= 35


def test_the_regenerate_command_rewrites_only_the_table(tmp_path: Any) -> None:
    stale = f"# x\n\nbefore\n\n{README_TABLE_START}\n| old |\n{README_TABLE_END}\n\nafter\n"
    readme = tmp_path / "README.md"
    readme.write_text(stale)
    subprocess.run([sys.executable, "-m", "pipeline.config", "--readme", str(readme)], check=True, cwd=REPO)
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n\n") and text.endswith(f"{README_TABLE_END}\n\nafter\n")
    assert _readme_table(text) == settings_table_markdown()


# -- PrepareSettings -------------------------------------------------------------------------------------------


def test_prepare_settings_has_no_defaults_of_its_own() -> None:
    assert all(field.is_required() for field in PrepareSettings.model_fields.values())
    with pytest.raises(ValidationError):
        PrepareSettings()  # type: ignore[call-arg]


def test_prepare_settings_from_the_default_settings_are_the_old_defaults() -> None:
    assert Settings().prepare_settings().model_dump() == PREPARE_BEFORE
    described = Settings().prepare_settings(DESCRIBE).model_dump()
    assert described == {**PREPARE_BEFORE, "audio_model": "gemini-3.5-flash-lite"}


@pytest.fixture
def pinned_task() -> Iterator[Any]:
    yield dataclasses.replace(DESCRIBE, version="pinned-1")


def test_fingerprints_of_existing_runs_do_not_move(pinned_task: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Computed before PrepareSettings lost its defaults: equal settings still give equal chunks (with the
    preparation code of then, version 1; a later version moves every fingerprint, on purpose)."""
    from pipeline.prepare import version as preparation

    current = preparation.PREPARATION_VERSION
    monkeypatch.setattr(preparation, "PREPARATION_VERSION", 1)

    def fingerprint(settings: Settings, task: Any = pinned_task) -> str:
        return settings_fingerprint(cast(Any, SimpleNamespace(settings=settings, task=task)))

    model = "gemini-3.8-flash"
    assert fingerprint(Settings(model=model)) == "aa1045a176e7fa8b"
    visual = dataclasses.replace(
        pinned_task, name="v", uses_audio=False, prepare_defaults={"video_fps": 0.5, "fast": True}
    )
    assert fingerprint(Settings(model=model), visual) == "f6219f372745af1b"
    changed = Settings(model=model, audio_model="none", video_fps=2, static_video_fps=None)
    assert fingerprint(changed) == "378eebc9eb9ecc75"
    monkeypatch.setattr(preparation, "PREPARATION_VERSION", current)
    assert fingerprint(Settings(model=model)) != "aa1045a176e7fa8b"  # prepared again, asked again
