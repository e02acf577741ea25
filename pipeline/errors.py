"""The project's error tree. Errors of boto3, ffmpeg and google-genai are translated into these at
the boundary, so a caller (a stage, the Airflow layer) decides retry vs quarantine by class alone.
S3's are translated in one table, pipeline/storage/s3_errors.py.

PipelineError
├── TerminalError                 no retry: fix the input or the configuration
│   ├── ConfigError               settings or task definition wrong
│   │   ├── StorageAccessError    S3 refused a credential or a permission: names which one to fix
│   │   └── BucketNotFoundError   a configured bucket does not exist
│   ├── MediaError                one source cannot be used -> failed/quarantined row, run goes on
│   │   ├── UnsupportedMediaError not a media type we handle (text, playlist, ...)
│   │   └── CorruptMediaError     claims to be media but cannot be decoded
│   ├── BudgetExceededError       the run's estimate is over its budget; nothing was paid
│   ├── RunQualityError           too many items failed or were quarantined (tables already written)
│   ├── BatchJobFailedError       a batch job ended FAILED / EXPIRED / CANCELLED
│   ├── ModelNotServedError       the service does not serve a model the run needs (nothing was paid)
│   ├── QuotaExhaustedError       a daily quota is used up until its reset: retrying now only burns time
│   ├── GeminiRequestError        Gemini refused one request (400-class): that item fails, the run goes on
│   ├── ObjectNotFoundError       an S3 key a step reads is not there (deleted after listing, stale reference)
│   └── UnclassifiedStorageError  an S3 failure no rule recognises: fails loudly, never retried blindly
├── WriteConflictError            a conditional S3 write lost a race (412/409): the caller re-reads and decides
└── TransientError                retry with backoff: throttling, 5xx, timeouts
    ├── StorageTransientError
    ├── GeminiTransientError
    └── FFmpegTransientError      the worker could not start ffmpeg/ffprobe (no processes, memory, fds)
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error this project raises on purpose."""

    # The HTTP status of the service answer it was translated from, when there was one.
    http_status: int | None = None


class TerminalError(PipelineError):
    """Retrying will not help."""


class TransientError(PipelineError):
    """Retrying later may help."""


class ConfigError(TerminalError):
    pass


class MediaError(TerminalError):
    """A source that cannot be processed. `reason` is a short code, the message names file and fix."""

    def __init__(self, message: str, *, reason: str = "media_error", source: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.source = source


class UnsupportedMediaError(MediaError):
    def __init__(self, message: str, *, reason: str = "unsupported_media", source: str | None = None) -> None:
        super().__init__(message, reason=reason, source=source)


class CorruptMediaError(MediaError):
    def __init__(self, message: str, *, reason: str = "corrupt_media", source: str | None = None) -> None:
        super().__init__(message, reason=reason, source=source)


class BudgetExceededError(TerminalError):
    pass


class RunQualityError(TerminalError):
    """The run wrote its tables, but its failure share is over `Settings.max_failure_share` (or a
    table-level consistency check failed): raised after commit so analysts still see what went wrong."""

    def __init__(self, message: str, *, failure_share: float, top_reasons: list[tuple[str, int]]) -> None:
        super().__init__(message)
        self.failure_share = failure_share
        self.top_reasons = top_reasons


class BatchJobFailedError(TerminalError):
    def __init__(self, message: str, *, job_name: str, state: str) -> None:
        super().__init__(message)
        self.job_name = job_name
        self.state = state


class ModelNotServedError(TerminalError):
    def __init__(self, message: str, *, model: str, replacement: str | None = None) -> None:
        super().__init__(message)
        self.model, self.replacement = model, replacement


class QuotaExhaustedError(TerminalError):
    """A quota that resets daily (or a billing cap) is used up; what was paid so far is recorded."""


class GeminiRequestError(TerminalError):
    """The service refused this one request (bad media, bad parameters): a failed outcome for its item."""


class StorageTransientError(TransientError):
    pass


class GeminiTransientError(TransientError):
    pass


class StorageAccessError(ConfigError):
    """S3 refused the credentials or a permission. `credential` names what to fix (an environment
    variable, a field of an Airflow connection, or the policy that must grant an action), never a value."""

    def __init__(
        self, message: str, *, credential: str, code: str, bucket: str | None = None, key: str | None = None
    ) -> None:
        super().__init__(message)
        self.credential, self.code, self.bucket, self.key = credential, code, bucket, key


class BucketNotFoundError(ConfigError):
    def __init__(self, message: str, *, bucket: str) -> None:
        super().__init__(message)
        self.bucket = bucket


class ObjectNotFoundError(TerminalError):
    """A key that was expected (listed, or named by a manifest) is not there. Callers for which absence
    is normal ask `S3Store.head` / `get_json_or_none`, which answer None instead."""

    def __init__(self, message: str, *, bucket: str, key: str) -> None:
        super().__init__(message)
        self.bucket, self.key = bucket, key


class UnclassifiedStorageError(TerminalError):
    """An S3 failure no rule of the storage client recognises; the original is `__cause__`. Default deny:
    it fails the task instead of being retried as if transient, until someone classifies it."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class FFmpegTransientError(TransientError):
    """The worker could not start ffmpeg or ffprobe for lack of processes, memory or file descriptors
    (EAGAIN, EMFILE, ENFILE, ENOMEM): the file is not at fault, another try later or elsewhere can pass."""


class WriteConflictError(PipelineError):
    """A conditional write (`If-None-Match: *` or `If-Match: <etag>`) found the object created or changed
    by someone else: S3 answered 412 PreconditionFailed or 409 ConditionalRequestConflict. Neither
    transient (retrying the same write fails again) nor terminal (nothing is wrong): the caller lost a
    race, re-reads the object and decides (adopt the winner's record, or write on top of it)."""

    def __init__(self, message: str, *, bucket: str, key: str) -> None:
        super().__init__(message)
        self.bucket, self.key = bucket, key
