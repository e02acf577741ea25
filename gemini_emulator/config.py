"""EmulatorConfig: the knobs of the Gemini emulator (an OFFLINE TEST DOUBLE), with env defaults.

Env (read when an EmulatorConfig is built; an explicit argument wins):
  GEMINI_EMULATOR_BATCH_DELAY_S       total PENDING+RUNNING time of a batch job (1/3 pending, 2/3 running)
  GEMINI_EMULATOR_RPM / _TPM          requests / prompt tokens per model per sliding 60 s before a 429
  GEMINI_EMULATOR_LATENCY_S           fixed delay added to every generateContent answer
  GEMINI_EMULATOR_FAULTS              JSON fault spec, see faults.FaultSpec
  GEMINI_EMULATOR_FILE_PROCESSING_S   how long an uploaded video stays PROCESSING before ACTIVE
  GEMINI_EMULATOR_FILES_MAX_BYTES     total bytes the in-memory Files API store may hold
  GEMINI_EMULATOR_ROUTES              JSON object {"requested-id": "served-id"}: requests to a key model are
                                      answered (and billed) by the value model; modelVersion names the value
  GEMINI_EMULATOR_ROUTE_RETIRED       1/true: a model the catalog marks retired today that names a
                                      `routed_to` is answered by that model (as the service routes it)
                                      instead of 404 NOT_FOUND
  GEMINI_EMULATOR_UNSERVED            JSON list of model ids answered 404 NOT_FOUND everywhere (models.get,
                                      models.list, generateContent, countTokens, batches, caches), as if the
                                      service had dropped them (or never served them to this project)
  GEMINI_EMULATOR_URL_CLOCK_OFFSET_S  seconds added to the clock a media URL's X-Amz-Date + X-Amz-Expires is
                                      checked against (a URL past it is refused like the service does)
  GEMINI_EMULATOR_BATCH_ENQUEUED_TOKENS  input tokens per model its unfinished batch jobs may hold (the
                                      tier's enqueued-token cap): a create over it is answered 429
                                      RESOURCE_EXHAUSTED (default: no cap)
  GEMINI_EMULATOR_BATCH_MAX_JOBS      unfinished batch jobs the project may hold before a create is
                                      answered 429 (default: the catalog's batch_max_jobs_in_flight)
  GEMINI_EMULATOR_TODAY               ISO date the emulator judges lifecycles on (default: today, UTC)
  GEMINI_EMULATOR_API_KEYS            JSON list of the API keys it accepts; any other key is answered
                                      400 API_KEY_INVALID as the service does (default: any key)

Fault keys (GEMINI_EMULATOR_FAULTS): http_429, http_500, timeout, http_503, daily_quota (HTTP faults),
malformed_json, max_tokens, safety_block, continuation (content faults), batch_item_error, batch_state,
batch_expire, batch_expire_answered, seed, timeout_s; see faults.py for what each does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .wire import Json


def _env_float(name: str, default: float | None) -> float | None:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    return int(float(value)) if value not in (None, "") else default


def _delay_default(index: int) -> float:
    """Defaults for the batch delays; env GEMINI_EMULATOR_BATCH_DELAY_S (total) splits 1/3 pending,
    2/3 running."""
    total = os.environ.get("GEMINI_EMULATOR_BATCH_DELAY_S")
    if total:
        t = max(0.0, float(total))
        return (t / 3, t - t / 3)[index]
    return (0.5, 1.0)[index]


def _faults_default() -> Json:
    raw = os.environ.get("GEMINI_EMULATOR_FAULTS")
    if not raw:
        return {}
    spec = json.loads(raw)
    if not isinstance(spec, dict):
        raise ValueError("GEMINI_EMULATOR_FAULTS must be a JSON object")
    return spec


def _env_json(name: str, kind: type, default: Any) -> Any:
    raw = os.environ.get(name)
    if not raw:
        return default
    value = json.loads(raw)
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be a JSON {kind.__name__}")
    return value


def _env_bool(name: str) -> bool:
    return (os.environ.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _env_date(name: str) -> date | None:
    raw = os.environ.get(name)
    return date.fromisoformat(raw) if raw else None


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    batch_pending_s: float = field(default_factory=lambda: _delay_default(0))
    batch_running_s: float = field(default_factory=lambda: _delay_default(1))
    # per model, sliding 60 s window: generateContent/streamGenerateContent/countTokens calls ...
    rpm_limit: int | None = field(default_factory=lambda: _env_int("GEMINI_EMULATOR_RPM", None))
    # ... and prompt tokens of generateContent calls
    tpm_limit: int | None = field(default_factory=lambda: _env_int("GEMINI_EMULATOR_TPM", None))
    latency_s: float = field(default_factory=lambda: _env_float("GEMINI_EMULATOR_LATENCY_S", 0.0) or 0.0)
    # how long batchGenerateContent takes to answer (a real create with large inline payloads takes seconds)
    batch_create_latency_s: float = 0.0
    faults: Json = field(default_factory=_faults_default)
    file_processing_s: float = field(
        default_factory=lambda: _env_float("GEMINI_EMULATOR_FILE_PROCESSING_S", 0.3) or 0.0
    )
    files_max_bytes: int = field(
        default_factory=lambda: _env_int("GEMINI_EMULATOR_FILES_MAX_BYTES", 1 << 30) or (1 << 30)
    )
    file_ttl_s: float = 48 * 3600.0
    batch_enqueued_tokens: int | None = field(
        default_factory=lambda: _env_int("GEMINI_EMULATOR_BATCH_ENQUEUED_TOKENS", None)
    )
    batch_max_jobs: int | None = field(
        default_factory=lambda: _env_int("GEMINI_EMULATOR_BATCH_MAX_JOBS", None)
    )
    # Moves the clock that media URLs' expiry is checked against (a test hook for expired signed URLs).
    url_clock_offset_s: float = field(
        default_factory=lambda: _env_float("GEMINI_EMULATOR_URL_CLOCK_OFFSET_S", 0.0) or 0.0
    )
    cache_min_tokens: int | None = None  # None: the model's min_cache_tokens in the catalog
    request_log_size: int = 200  # recent request bodies kept for GET /_emulator/requests
    request_log_clip: int | None = 200  # ... with longer strings replaced by "<N chars>"; None: bodies whole
    require_api_key: bool = True
    # The keys the emulator accepts; None: any non-empty key (a wrong one is then never noticed).
    api_keys: list[str] | None = field(
        default_factory=lambda: _env_json("GEMINI_EMULATOR_API_KEYS", list, None)
    )
    # Model lifecycle (see the env list above): routing of requested ids, routing of retired ids, dropped ids.
    routes: dict[str, str] = field(default_factory=lambda: _env_json("GEMINI_EMULATOR_ROUTES", dict, {}))
    route_retired: bool = field(default_factory=lambda: _env_bool("GEMINI_EMULATOR_ROUTE_RETIRED"))
    unserved: list[str] = field(default_factory=lambda: _env_json("GEMINI_EMULATOR_UNSERVED", list, []))
    today: date | None = field(default_factory=lambda: _env_date("GEMINI_EMULATOR_TODAY"))  # None: UTC today
