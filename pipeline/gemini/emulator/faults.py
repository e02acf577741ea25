"""Fault injection and rate limits of the Gemini emulator (an OFFLINE TEST DOUBLE).

Spec (EmulatorConfig.faults or env GEMINI_EMULATOR_FAULTS as JSON), rates are per request in [0, 1]:

  http_429, http_500, timeout   model calls (generateContent, streamGenerateContent, countTokens,
                                batchGenerateContent) answer 429 (with RetryInfo) / 500, or time out
  malformed_json, max_tokens,   a generated answer (sync, or one batch item) is truncated invalid JSON
  safety_block                  with STOP / truncated with MAX_TOKENS / blocked with SAFETY (no text,
                                safetyRatings, prompt tokens still billed)
  batch_item_error              one batch item becomes {"error": {"code": 13, "message": ...}}
  batch_state                   terminal state of every batch job: SUCCEEDED (default), FAILED,
                                EXPIRED or CANCELLED (the last three carry an LRO `error` message)
  seed                          RNG seed (default 0): the same spec and request order give the same faults
  timeout_s                     how long a `timeout` fault holds the connection (default 1.0 s)

A `timeout` fault reads the request, holds the connection for `timeout_s` and then closes it without
answering: the SDK (httpx) raises httpx.RemoteProtocolError ("Server disconnected without sending a
response"), or httpx.ReadTimeout first when the client's HttpOptions.timeout is shorter than the hold.
Per request at most one HTTP fault and at most one content fault is drawn, each from one uniform draw
over the cumulative rates in the order listed above.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from pipeline.catalog import token_rules

from .wire import STATUS_NAMES, ApiError, exhausted

HTTP_FAULTS = ("http_429", "http_500", "timeout")
CONTENT_FAULTS = ("malformed_json", "max_tokens", "safety_block")
RATE_KEYS = (*HTTP_FAULTS, *CONTENT_FAULTS, "batch_item_error")
BATCH_STATES = ("SUCCEEDED", "FAILED", "EXPIRED", "CANCELLED")
SAFETY_CATEGORIES = (
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
)


@dataclass
class FaultSpec:
    rates: dict[str, float] = field(default_factory=dict)
    batch_state: str = "SUCCEEDED"
    seed: int = 0
    timeout_s: float = 1.0

    @classmethod
    def parse(cls, spec: dict | str | None) -> FaultSpec:
        if isinstance(spec, str):
            spec = json.loads(spec) if spec.strip() else {}
        spec = dict(spec or {})
        unknown = set(spec) - {*RATE_KEYS, "batch_state", "seed", "timeout_s"}
        if unknown:
            raise ValueError(
                f"unknown fault keys {sorted(unknown)}; known: {[*RATE_KEYS, 'batch_state', 'seed']}"
            )
        rates = {k: float(spec[k]) for k in RATE_KEYS if k in spec}
        if any(not 0 <= r <= 1 for r in rates.values()):
            raise ValueError(f"fault rates must be in [0, 1]: {rates}")
        state = str(spec.get("batch_state", "SUCCEEDED")).upper().removeprefix("BATCH_STATE_")
        state = state.removeprefix("JOB_STATE_")
        if state not in BATCH_STATES:
            raise ValueError(f"batch_state must be one of {BATCH_STATES}, got {spec['batch_state']!r}")
        return cls(rates, state, int(spec.get("seed", 0)), float(spec.get("timeout_s", 1.0)))


@dataclass
class Fault:
    """Answer the next `count` requests whose path contains `match` with HTTP `code` (test hook)."""

    code: int
    count: int = 1
    match: str = ""
    message: str = "Injected fault (Gemini emulator)."


class FaultInjector:
    """Seeded random faults from a FaultSpec plus the explicit `inject_fault` queue; thread-safe."""

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self._rng = random.Random(spec.seed)
        self._lock = threading.Lock()
        self.manual: list[Fault] = []

    def reset(self) -> None:
        with self._lock:
            self._rng = random.Random(self.spec.seed)
            self.manual.clear()

    def _draw(self, kinds: tuple[str, ...]) -> str | None:
        rates = [(k, self.spec.rates.get(k, 0.0)) for k in kinds]
        if not any(r for _, r in rates):
            return None
        with self._lock:
            u = self._rng.random()
        acc = 0.0
        for kind, rate in rates:
            acc += rate
            if u < acc:
                return kind
        return None

    def take_manual(self, path: str) -> ApiError | None:
        with self._lock:
            for fault in self.manual:
                if fault.count > 0 and fault.match in path:
                    fault.count -= 1
                    if fault.code == 429:
                        return exhausted(fault.message, 2)
                    return ApiError(fault.code, STATUS_NAMES.get(fault.code, "UNKNOWN"), fault.message)
        return None

    def http_fault(self) -> str | None:
        return self._draw(HTTP_FAULTS)

    def content_fault(self) -> str | None:
        return self._draw(CONTENT_FAULTS)

    def item_error(self) -> bool:
        return self._draw(("batch_item_error",)) is not None


def http_fault_error(kind: str) -> ApiError:
    if kind == "http_429":
        return exhausted("Resource has been exhausted (e.g. check quota). [emulator fault http_429]", 2)
    return ApiError(500, "INTERNAL", "An internal error has occurred. [emulator fault http_500]")


def apply_content_fault(kind: str, gen) -> None:
    """Rewrite a generate.Generated in place: malformed_json / max_tokens / safety_block."""
    rules = token_rules(gen.model) if gen.model else None
    resp = gen.response
    cand = resp["candidates"][0]
    usage = resp["usageMetadata"]
    if kind == "safety_block":
        cand.pop("content", None)
        cand["finishReason"] = "SAFETY"
        cand["safetyRatings"] = [
            {
                "category": c,
                "probability": "HIGH" if i == 1 else "NEGLIGIBLE",
                **({"blocked": True} if i == 1 else {}),
            }
            for i, c in enumerate(SAFETY_CATEGORIES)
        ]
        gen.output_tokens = 0
        for key in ("candidatesTokenCount", "candidatesTokensDetails"):
            usage.pop(key, None)
        usage["totalTokenCount"] = usage["promptTokenCount"]
        return
    text = cand["content"]["parts"][0]["text"]
    cut = text[: max(1, len(text) // 2)]
    try:  # make sure the truncated text really is invalid JSON
        json.loads(cut)
        cut = cut + "{" if cut.strip() else "{"
    except ValueError:
        pass
    cand["content"]["parts"][0]["text"] = cut
    cand["finishReason"] = "STOP" if kind == "malformed_json" else "MAX_TOKENS"
    gen.output_tokens = rules.text_tokens(cut) if rules else len(cut) // 4 + 1
    usage["candidatesTokenCount"] = gen.output_tokens
    usage["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": gen.output_tokens}]
    usage["totalTokenCount"] = usage["promptTokenCount"] + gen.output_tokens


class RateLimiter:
    """Per-model sliding 60 s windows of requests (rpm) and prompt tokens (tpm); 429 with RetryInfo."""

    WINDOW_S = 60.0

    def __init__(self, rpm: int | None, tpm: int | None) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._calls: dict[str, deque[float]] = defaultdict(deque)
        self._tokens: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._tokens.clear()

    def _trim(self, model: str, now: float) -> None:
        calls, tokens = self._calls[model], self._tokens[model]
        while calls and now - calls[0] >= self.WINDOW_S:
            calls.popleft()
        while tokens and now - tokens[0][0] >= self.WINDOW_S:
            tokens.popleft()

    def admit(self, model: str) -> None:
        """Count one request against the model's rpm; raise 429 when the window is full."""
        if not self.rpm:
            return
        now = time.monotonic()
        with self._lock:
            self._trim(model, now)
            calls = self._calls[model]
            if len(calls) >= self.rpm:
                retry = self.WINDOW_S - (now - calls[0])
                raise exhausted(
                    f"Resource has been exhausted: quota of {self.rpm} requests per minute for model "
                    f"{model} exceeded (emulator rpm_limit). Please retry in {retry:.1f}s.",
                    retry,
                    "GenerateRequestsPerMinutePerProjectPerModel",
                    model,
                    self.rpm,
                )
            calls.append(now)

    def charge(self, model: str, tokens: int) -> None:
        """Count prompt tokens against the model's tpm; raise 429 (not billed) when over."""
        if not self.tpm:
            return
        now = time.monotonic()
        with self._lock:
            self._trim(model, now)
            window = self._tokens[model]
            used = sum(n for _, n in window)
            if used + tokens > self.tpm:
                freed, retry = used + tokens - self.tpm, self.WINDOW_S
                for t, n in window:
                    freed -= n
                    if freed <= 0:
                        retry = self.WINDOW_S - (now - t)
                        break
                raise exhausted(
                    f"Resource has been exhausted: quota of {self.tpm} input tokens per minute for model "
                    f"{model} exceeded (emulator tpm_limit). Please retry in {retry:.1f}s.",
                    retry,
                    "GenerateContentInputTokensPerModelPerMinute",
                    model,
                    self.tpm,
                )
            window.append((now, tokens))
