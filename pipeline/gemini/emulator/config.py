"""EmulatorConfig: the knobs of the Gemini emulator (an OFFLINE TEST DOUBLE), with env defaults.

Env (read when an EmulatorConfig is built; an explicit argument wins):
  GEMINI_EMULATOR_BATCH_DELAY_S       total PENDING+RUNNING time of a batch job (1/3 pending, 2/3 running)
  GEMINI_EMULATOR_RPM / _TPM          requests / prompt tokens per model per sliding 60 s before a 429
  GEMINI_EMULATOR_LATENCY_S           fixed delay added to every generateContent answer
  GEMINI_EMULATOR_FAULTS              JSON fault spec, see faults.FaultSpec
  GEMINI_EMULATOR_FILE_PROCESSING_S   how long an uploaded video stays PROCESSING before ACTIVE
  GEMINI_EMULATOR_FILES_MAX_BYTES     total bytes the in-memory Files API store may hold
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field


def _env_float(name: str, default: float | None) -> float | None:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    return int(float(value)) if value not in (None, "") else default


def _delay_default(index: int) -> float:
    """Defaults for the batch delays; env GEMINI_EMULATOR_BATCH_DELAY_S (total) splits 1/3 pending, 2/3 running."""
    total = os.environ.get("GEMINI_EMULATOR_BATCH_DELAY_S")
    if total:
        t = max(0.0, float(total))
        return (t / 3, t - t / 3)[index]
    return (0.5, 1.0)[index]


def _faults_default() -> dict:
    raw = os.environ.get("GEMINI_EMULATOR_FAULTS")
    if not raw:
        return {}
    spec = json.loads(raw)
    if not isinstance(spec, dict):
        raise ValueError("GEMINI_EMULATOR_FAULTS must be a JSON object")
    return spec


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
    faults: dict = field(default_factory=_faults_default)
    file_processing_s: float = field(
        default_factory=lambda: _env_float("GEMINI_EMULATOR_FILE_PROCESSING_S", 0.3) or 0.0
    )
    files_max_bytes: int = field(
        default_factory=lambda: _env_int("GEMINI_EMULATOR_FILES_MAX_BYTES", 1 << 30) or (1 << 30)
    )
    file_ttl_s: float = 48 * 3600.0
    cache_min_tokens: int | None = None  # None: 4096 for Pro models, 1024 for the others
    request_log_size: int = 200  # recent request bodies kept for GET /_emulator/requests
    require_api_key: bool = True
