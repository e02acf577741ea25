"""Settings: one typed object, read from `MEDIA_PIPELINE_*` environment variables and CLI options, then
passed into the stages (no stage reads the environment itself).

Each setting is declared once, here: its type, default, limits and description (`Field(description=...)`),
and, with `per_run(...)`, whether one run may set it for itself. The DAG's params
(`pipeline.airflow.runs.setting_params`), the `media-pipeline run` options and the README's settings table
(`python -m pipeline.config --readme README.md`) are generated from, or tested against, this declaration.

S3 and Gemini endpoints/credentials are NOT here on purpose: boto3 reads the standard AWS variables
(`AWS_ENDPOINT_URL[_S3]`, `AWS_ACCESS_KEY_ID`, ...) and google-genai reads `GEMINI_API_KEY` /
`GOOGLE_GEMINI_BASE_URL`, so pointing the pipeline at MinIO, AWS or the real Gemini needs no code change.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, JsonValue, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.catalog import current_models, default_run_model, model_info, usable_model
from pipeline.errors import ConfigError
from pipeline.models import PrepareSettings

if TYPE_CHECKING:
    from pipeline.tasks import Task

InferenceMode = Literal["batch", "sync", "auto"]
# Where a run may set a setting for itself: "dag" a DAG param (trigger form, dag_run.conf), "cli" an
# option of `media-pipeline run`. Everything else comes from MEDIA_PIPELINE_* only.
RunEdge = Literal["dag", "cli"]
ENV_PREFIX = "MEDIA_PIPELINE_"
# Also a bucket created before 2018 (capitals, underscores) may still hold the media: only the shape is
# checked, by the validator and by the trigger form's pattern alike.
S3_URI = r"^s3://[A-Za-z0-9][A-Za-z0-9._\-]*(/.*)?$"
# What `audio_model` takes to keep a video's sound in its request (unset means: the task's default).
NO_AUDIO_MODEL = "none"


def per_run(*edges: RunEdge, **schema: JsonValue) -> dict[str, JsonValue]:
    """The mark of a setting one run may set for itself (`json_schema_extra`), plus any JSON-schema
    keyword the field's own constraints cannot express (a pattern its validator checks)."""
    return {"per_run": list(edges), **schema}


class Settings(BaseSettings):
    """Everything one run needs to know. Field descriptions are the user-facing reference: the README
    table, the DAG's trigger form and the CLI's help are made from them."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    source: str = Field(
        "s3://media-inbox/incoming",
        description="s3://bucket/prefix holding the dt=YYYY-MM-DD/ partitions of media",
        json_schema_extra=per_run("dag", "cli", pattern=S3_URI),
    )
    dest: str = Field(
        "s3://media-results/gemini",
        description="s3://bucket/prefix the tables (and _staging/, _ledger/) are written under",
        json_schema_extra=per_run("dag", "cli", pattern=S3_URI),
    )
    model: str = Field(
        default_factory=default_run_model,
        description="Gemini model id (default: the catalog's run_model); checked against "
        "pipeline/catalog/models.json when the settings load (a shut-down model is refused, naming its "
        "replacement) and with the service (models.get) before anything is paid",
        json_schema_extra=per_run("dag", "cli"),
    )
    audio_model: str | None = Field(
        None,
        description="send a video's sound as its own request to this model where the cost rule finds it "
        "cheaper; none (or empty) keeps the sound in the video request; unset: the task's default "
        "(describe: gemini-3.5-flash-lite)",
        json_schema_extra=per_run("dag"),
    )
    task: str = Field(
        "describe",
        description="what is asked: a task name (describe) or package.module:TASK (see Tasks)",
        json_schema_extra=per_run("dag", "cli"),
    )
    mode: InferenceMode = Field(
        "batch",
        description="batch (50% price, async), sync (generate_content), auto",
        json_schema_extra=per_run("dag", "cli"),
    )
    budget_usd: float | None = Field(
        None,
        ge=0,
        description="stop before paying when the run's estimate exceeds this (USD); warn at 80%",
        json_schema_extra=per_run("dag", "cli"),
    )
    # Every request carries the prompt, an answer and the overlap: 5 min chunks spread that over enough
    # media (~30k tokens at 1 fps LOW, 3% of the context) while a failed chunk still costs little.
    max_chunk_seconds: float = Field(
        300.0,
        gt=0,
        le=3600,
        description="upper bound on one chunk's duration (s); each chunk is a request with its own prompt, "
        "answer and overlap",
        json_schema_extra=per_run("dag"),
    )
    overlap_seconds: float = Field(
        2.0,
        ge=0,
        description="overlap between consecutive chunks (s), so boundaries are seen twice",
        json_schema_extra=per_run("dag"),
    )
    video_fps: float = Field(
        1.0,
        gt=0,
        le=24,
        description="frame rate chunks are reduced to (and sampled at)",
        json_schema_extra=per_run("dag"),
    )
    max_height: int = Field(
        360,
        ge=64,
        le=2160,
        description="chunks are downscaled to at most this many pixels high",
        json_schema_extra=per_run("dag"),
    )
    keep_audio: bool = Field(
        True,
        description="keep a mono low-rate audio track in video chunks",
        json_schema_extra=per_run("dag"),
    )
    audio_sample_rate: int = Field(16000, gt=0, description="sample rate of prepared audio (Hz)")
    audio_bitrate: str = Field(
        "32k", pattern=r"^[0-9]+(\.[0-9]+)?[kKmM]?$", description="bitrate of prepared audio (ffmpeg -b:a)"
    )
    image_max_px: int = Field(768, ge=64, description="long side of prepared images (768 = one tile)")
    media_resolution: str = Field(
        "MEDIA_RESOLUTION_LOW",
        description="Gemini media_resolution of the requests: per media part on 3.x / 4.x (ULTRA_HIGH too), "
        "for the whole request on 2.x; checked against the model's family",
        json_schema_extra=per_run("dag"),
    )
    fast_prepare: bool = Field(
        False,
        description="decode keyframes only when they are at least video_fps dense (several times faster; "
        "a sampled frame may be up to one keyframe interval older than its timestamp)",
    )
    static_video_fps: float | None = Field(
        0.5,
        gt=0,
        le=24,
        description="frame rate for sources whose picture barely changes (slides, screen recordings); "
        "set it to video_fps to sample every source alike",
    )
    max_output_tokens: int | None = Field(
        None,
        gt=0,
        description="generation cap per request (thoughts count against it); unset: the task's answer room "
        "plus its thinking level's room (pipeline/catalog/models.json), so thoughts cannot crowd out the answer",
    )
    transport: Literal["auto", "url", "inline", "files"] = Field(
        "auto",
        description="how media reaches Gemini. auto: a pre-signed S3 URL of the staged chunk for models "
        "that fetch URLs (3.x), else inline under the 20 MB batch cap and the Files API + JSONL above it; "
        "url: signed URLs (the run's model must take them; chunks over 100 MB go through the Files API); "
        "inline / files: the chunk's bytes, always",
    )
    max_request_attempts: int = Field(
        2,
        ge=1,
        le=5,
        description="attempts per request (failed ones are retried synchronously) before its item is quarantined",
    )
    on_batch_failure: Literal["fail", "sync"] = Field(
        "fail",
        description="a FAILED/EXPIRED/CANCELLED batch job fails the task, or its requests are sent synchronously",
    )
    deadline_minutes: float | None = Field(
        None,
        gt=0,
        description="mode=auto sends synchronously when this is shorter than a batch's expected turnaround",
    )
    batch_expected_minutes: float = Field(
        60.0, gt=0, description="typical batch turnaround, used by mode=auto against the deadline"
    )
    context_cache: bool = Field(
        True, description="cache the task prompt when it is above the model's minimum cache size"
    )
    sync_concurrency: int = Field(
        4, ge=1, le=64, description="concurrent generate_content calls in sync mode"
    )
    sync_rpm: int | None = Field(None, gt=0, description="client-side requests-per-minute cap in sync mode")
    sync_tpm: int | None = Field(None, gt=0, description="client-side tokens-per-minute cap in sync mode")
    sync_claim_stale_seconds: float = Field(
        30.0,
        gt=0,
        description="a sync request's claim (overlapping runs of a date send each request once) that is not "
        "refreshed for this long belongs to a dead run and is taken over; a live run refreshes its claims "
        "every third of it, and a run restarted after a crash waits up to this long for the dead run's",
    )
    sync_claim_wait_seconds: float = Field(
        1800.0,
        gt=0,
        description="how long a run waits for answers an overlapping run of the date is receiving (it "
        "keeps their claims fresh); past this the run stops with a transient error instead of paying "
        "for them twice, and its retry takes the answers that arrived",
    )
    create_backoff_seconds: float = Field(
        2.0, gt=0, description="base of the backoff between batch-create attempts (s)"
    )
    batch_poll_seconds: float = Field(10.0, gt=0, description="how often a batch job is polled (s)")
    batch_timeout_seconds: float = Field(
        24 * 3600.0, gt=0, description="give up waiting for a batch job after this long (s)"
    )
    batch_max_jobs_in_flight: int | None = Field(
        None,
        ge=1,
        description="unfinished batch jobs the run keeps at most; more requests wait for the next wave "
        "(default: the service's limit, batch_max_jobs_in_flight in pipeline/catalog/models.json)",
    )
    batch_enqueued_token_cap: str = Field(
        "tier1",
        pattern=r"^(tier\d+|\d+|none)$",
        description="estimated prompt tokens the run keeps enqueued in batch jobs per model: a usage tier "
        "of pipeline/catalog/models.json (batch_enqueued_tokens; a model it gives no cap for has none), "
        "a number of tokens, or none",
    )
    max_failure_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="fail the run (after writing its tables) when (failed + quarantined) / items exceeds this",
    )
    max_items: int | None = Field(
        None,
        ge=1,
        description="process at most this many sources (smoke runs)",
        json_schema_extra=per_run("dag", "cli"),
    )
    dry_run: bool = Field(
        False,
        description="plan and estimate only: no model call, no tables written",
        json_schema_extra=per_run("dag", "cli"),
    )
    work_dir: str | None = Field(
        None,
        description="local scratch directory (default: the system's temp dir); a CLI run works in a dir of "
        "its own there, a DAG run's tasks on one host share media-pipeline-host-<run id>",
    )
    workers: int | None = Field(
        None,
        ge=1,
        description="processes that probe, plan and prepare items in one run or task (default: the cores "
        "this process may use)",
    )

    sync_latency_p99_alert_ms: int = Field(
        60_000,
        gt=0,
        description="alert (run warning, the failure callback's webhook) when a run's sync requests have a "
        "p99 latency above this",
    )
    batch_latency_p99_alert_ms: int = Field(
        24 * 3600 * 1000,
        gt=0,
        description="alert when a run's batch requests (submit to job end) have a p99 latency above this",
    )

    @field_validator("model", mode="before")
    @classmethod
    def _model(cls, value: object) -> str:
        if value is None or not str(value).strip():  # MEDIA_PIPELINE_MODEL= (empty): the catalog's default
            return default_run_model()
        return _checked_model(str(value).strip())

    @field_validator("audio_model", mode="before")
    @classmethod
    def _audio_model(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", NO_AUDIO_MODEL)):
            return None  # still counts as set: an explicit "no split" beats a task's default
        return _checked_model(str(value))

    @model_validator(mode="after")
    def _media_resolution(self) -> Settings:
        allowed = _resolutions(self.model)
        if self.media_resolution not in allowed:
            raise ValueError(
                f"media_resolution {self.media_resolution!r} is not one {self.model} takes: {', '.join(allowed)}"
            )
        return self

    @field_validator("source", "dest")
    @classmethod
    def _s3_uri(cls, value: str) -> str:
        if not re.fullmatch(S3_URI, value):
            raise ValueError(f"expected s3://bucket/prefix, got {value!r}")
        return value.rstrip("/")

    def prepare_settings(self, task: Task | None = None) -> PrepareSettings:
        """The run's downscale settings, every one from a setting (PrepareSettings has no defaults of its
        own). With a task: its `prepare_defaults` fill what the user did not set explicitly (env or
        argument), and audio is dropped when the task does not use it."""
        values = {key: getattr(self, PREPARE_SOURCES.get(key, key)) for key in PrepareSettings.model_fields}
        if task is not None:
            for key, value in task.prepare_defaults.items():
                if key not in PrepareSettings.model_fields:
                    raise ConfigError(
                        f"task {task.name}: prepare_defaults key {key!r} is not a PrepareSettings field "
                        f"({', '.join(PrepareSettings.model_fields)})"
                    )
                if PREPARE_SOURCES.get(key, key) not in self.model_fields_set:
                    values[key] = value
            if not task.uses_audio:
                values["keep_audio"] = False
        return PrepareSettings.model_validate(values)


# The setting each PrepareSettings field comes from, where the names differ.
PREPARE_SOURCES = {"fast": "fast_prepare", "static_fps": "static_video_fps"}


def _checked_model(value: str) -> str:
    """A model id the catalog knows and the service still serves; the error names the replacement."""
    try:
        return usable_model(value.removeprefix("models/")).name
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _resolutions(model: str) -> list[str]:
    rules = model_info(model).rules
    return rules.part_resolutions or rules.request_resolutions


def per_run_settings(edge: RunEdge) -> tuple[str, ...]:
    """The settings one run may set for itself on this edge, in declaration order."""
    names = []
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra
        edges = extra.get("per_run") if isinstance(extra, dict) else None
        if isinstance(edges, list) and edge in edges:
            names.append(name)
    return tuple(names)


def catalog_choices(name: str, on: date | None = None) -> list[str] | None:
    """The values a setting checked against the model catalog takes on `on` (today): the models that
    are not shut down, and the media resolutions one of them accepts. None for other settings."""
    if name == "model":
        return current_models(on)
    if name == "audio_model":
        return [NO_AUDIO_MODEL, *current_models(on)]
    if name == "media_resolution":
        return list(dict.fromkeys(r for model in current_models(on) for r in _resolutions(model)))
    return None


def run_defaults(settings: Settings | None = None) -> dict[str, Any]:
    """What each per-run setting is when a run leaves it alone: the environment's value (else the code
    default), with the run's task's `prepare_defaults` applied (describe: its audio_model), so that a
    form shows what a run would really use."""
    from pipeline.tasks import get_task

    settings = settings if settings is not None else Settings()
    values = {name: getattr(settings, name) for name in per_run_settings("dag")}
    prepared = settings.prepare_settings(get_task(settings.task))
    for key in PrepareSettings.model_fields:
        source = PREPARE_SOURCES.get(key, key)
        if source in values:
            values[source] = getattr(prepared, key)
    return values


# The README's table sits between these lines; the test compares it with settings_table_markdown().
README_TABLE_START = "<!-- settings table: made by `python -m pipeline.config --readme README.md` -->"
README_TABLE_END = "<!-- end of settings table -->"


def settings_table_markdown() -> str:
    """The README's settings table: every setting, its variable, code default, where a run may set it,
    and its description."""
    cli = set(per_run_settings("cli"))
    dag = set(per_run_settings("dag"))
    lines = [
        "| variable | default | per run (DAG param, CLI option) | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True, validated_data={})
        per_run_cell = ", ".join(
            [
                *([f"`{name}`"] if name in dag else []),
                *([f"`--{name.replace('_', '-')}`"] if name in cli else []),
            ]
        )
        meaning = (field.description or "").replace("|", "\\|")
        lines.append(
            f"| `{ENV_PREFIX}{name.upper()}` | {_markdown_default(default)} | {per_run_cell} | {meaning} |"
        )
    return "\n".join(lines) + "\n"


def _markdown_default(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def readme_with_settings_table(readme: str) -> str:
    """The README text with the part between the table markers replaced by the generated table."""
    start, end = readme.index(README_TABLE_START), readme.index(README_TABLE_END)
    head = readme[: start + len(README_TABLE_START)]
    return f"{head}\n{settings_table_markdown()}{readme[end:]}"


def _main(argv: Sequence[str]) -> int:
    if len(argv) not in (1, 2) or argv[0] != "--readme":
        print("usage: python -m pipeline.config --readme [README.md]", file=sys.stderr)
        return 2
    if len(argv) == 1:
        print(settings_table_markdown(), end="")
        return 0
    path = Path(argv[1])
    path.write_text(readme_with_settings_table(path.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
