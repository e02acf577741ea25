"""Settings: one typed object, read from `MEDIA_PIPELINE_*` environment variables and CLI options, then
passed into the stages (no stage reads the environment itself).

S3 and Gemini endpoints/credentials are NOT here on purpose: boto3 reads the standard AWS variables
(`AWS_ENDPOINT_URL[_S3]`, `AWS_ACCESS_KEY_ID`, ...) and google-genai reads `GEMINI_API_KEY` /
`GOOGLE_GEMINI_BASE_URL`, so pointing the pipeline at MinIO, AWS or the real Gemini needs no code change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.catalog import default_run_model, model_info, usable_model
from pipeline.errors import ConfigError
from pipeline.models import PrepareSettings

if TYPE_CHECKING:
    from pipeline.tasks import Task

InferenceMode = Literal["batch", "sync", "auto"]


class Settings(BaseSettings):
    """Everything one run needs to know. Field docs are the user-facing reference (see README)."""

    model_config = SettingsConfigDict(env_prefix="MEDIA_PIPELINE_", extra="ignore")

    source: str = Field(
        "s3://media-inbox/incoming",
        description="s3://bucket/prefix holding dt=YYYY-MM-DD/ partitions of media",
    )
    dest: str = Field(
        "s3://media-results/gemini",
        description="s3://bucket/prefix the tables (and _staging/) are written under",
    )
    model: str = Field(
        default_factory=default_run_model,
        description="Gemini model id; checked against pipeline/catalog/models.json when the settings load "
        "(a shut-down model is refused, naming its replacement) and against the service before paying",
    )
    audio_model: str | None = Field(
        None,
        description="send a video's sound as its own request to this model (where the cost rule finds it "
        "cheaper); empty keeps the sound in the video request. Tasks may default it (describe: "
        "gemini-3.5-flash-lite)",
    )
    task: str = Field("describe", description="name of the task (prompt + response model + version) to ask")
    mode: InferenceMode = Field(
        "batch", description="batch (50% price, async), sync (generate_content), auto"
    )
    budget_usd: float | None = Field(
        None, description="stop before paying when the run's estimate exceeds this"
    )
    # Every request carries the prompt, an answer and the overlap: 5 min chunks spread that over enough
    # media (~30k tokens at 1 fps LOW, 3% of the context) while a failed chunk still costs little.
    max_chunk_seconds: float = Field(300.0, gt=0, description="upper bound on one chunk's duration")
    overlap_seconds: float = Field(
        2.0, ge=0, description="overlap between consecutive chunks so boundaries are seen twice"
    )
    video_fps: float = Field(
        1.0, gt=0, le=24, description="frame rate chunks are reduced to (and sampled at)"
    )
    max_height: int = Field(360, ge=64, description="chunks are downscaled to at most this many pixels high")
    keep_audio: bool = Field(True, description="keep a mono low-rate audio track in video chunks")
    audio_sample_rate: int = Field(16000, description="sample rate of prepared audio")
    image_max_px: int = Field(768, ge=64, description="long side of prepared images (768 = one tile)")
    media_resolution: str = Field(
        "MEDIA_RESOLUTION_LOW", description="Gemini media_resolution for the requests"
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
        description="generation cap per request; unset: the task's answer room plus its thinking level's "
        "room (pipeline/catalog/models.json), so thoughts cannot crowd out the answer",
    )
    transport: Literal["auto", "inline", "files"] = Field(
        "auto",
        description="batch transport: inline under the 20 MB batch cap, the Files API + JSONL above it (auto)",
    )
    max_request_attempts: int = Field(
        2, ge=1, le=5, description="attempts per request before its item is quarantined"
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
    create_backoff_seconds: float = Field(
        2.0, gt=0, description="base of the backoff between batch-create attempts"
    )
    batch_poll_seconds: float = Field(10.0, gt=0, description="how often a batch job is polled")
    batch_timeout_seconds: float = Field(
        24 * 3600.0, gt=0, description="give up waiting for a batch job after this long"
    )
    max_failure_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="fail the run (after writing its tables) when (failed + quarantined) / items exceeds this",
    )
    max_items: int | None = Field(None, description="process at most this many sources (smoke runs)")
    dry_run: bool = Field(False, description="plan and estimate only: no model call, no tables written")
    work_dir: str | None = Field(None, description="local scratch directory (default: a temp dir per stage)")

    sync_latency_p99_alert_ms: int = Field(
        60_000,
        gt=0,
        description="alert (the failure callback's webhook) when a run's sync requests have a p99 latency above this",
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
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None  # still counts as set: an explicit "no split" beats a task's default
        return _checked_model(str(value))

    @model_validator(mode="after")
    def _media_resolution(self) -> Settings:
        rules = model_info(self.model).rules
        allowed = rules.part_resolutions or rules.request_resolutions
        if self.media_resolution not in allowed:
            raise ValueError(
                f"media_resolution {self.media_resolution!r} is not one {self.model} takes: {', '.join(allowed)}"
            )
        return self

    @field_validator("source", "dest")
    @classmethod
    def _s3_uri(cls, value: str) -> str:
        if not value.startswith("s3://") or len(value) <= 5:
            raise ValueError(f"expected s3://bucket/prefix, got {value!r}")
        return value.rstrip("/")

    def prepare_settings(self, task: Task | None = None) -> PrepareSettings:
        """The run's downscale settings. With a task: its `prepare_defaults` fill what the user did not
        set explicitly (env or argument), and audio is dropped when the task does not use it."""
        values = {
            "video_fps": self.video_fps,
            "max_height": self.max_height,
            "keep_audio": self.keep_audio,
            "audio_sample_rate": self.audio_sample_rate,
            "image_max_px": self.image_max_px,
            "media_resolution": self.media_resolution,
            "fast": self.fast_prepare,
            "static_fps": self.static_video_fps,
            "audio_model": self.audio_model,
        }
        if task is not None:
            own = {"fast": "fast_prepare", "static_fps": "static_video_fps"}
            for key, value in task.prepare_defaults.items():
                if key not in PrepareSettings.model_fields:
                    raise ConfigError(
                        f"task {task.name}: prepare_defaults key {key!r} is not a PrepareSettings field "
                        f"({', '.join(PrepareSettings.model_fields)})"
                    )
                if own.get(key, key) not in self.model_fields_set:
                    values[key] = value
            if not task.uses_audio:
                values["keep_audio"] = False
        return PrepareSettings(**values)


def _checked_model(value: str) -> str:
    """A model id the catalog knows and the service still serves; the error names the replacement."""
    try:
        return usable_model(value.removeprefix("models/")).name
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
