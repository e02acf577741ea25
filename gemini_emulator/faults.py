"""Fault injection and rate limits of the Gemini emulator (an OFFLINE TEST DOUBLE).

Spec (EmulatorConfig.faults or env GEMINI_EMULATOR_FAULTS as JSON), rates are per request in [0, 1]:

  http_429, http_500, timeout   model calls (generateContent, streamGenerateContent, countTokens,
                                batchGenerateContent) answer 429 (with RetryInfo) / 500, or time out
  http_503                      ... answer 503 UNAVAILABLE "The model is overloaded. Please try again later."
  daily_quota                   ... answer 429 RESOURCE_EXHAUSTED "You exceeded your current quota, ..." with
                                a google.rpc.QuotaFailure (quotaId GenerateRequestsPerDayPerProjectPerModel)
                                and a google.rpc.Help, and NO RetryInfo: retrying before the daily reset is
                                pointless
  malformed_json, max_tokens,   a generated answer (sync, or one batch item) is truncated invalid JSON
  safety_block                  with STOP / truncated with MAX_TOKENS / blocked with SAFETY (no text,
                                safetyRatings, prompt tokens still billed)
  continuation                  sync: the answer stops halfway with finishReason CONTINUATION and a
                                continuationToken; the same request with that token gets the rest (STOP),
                                see continuation.py (google-genai follows it by default). Batch: the item
                                keeps CONTINUATION and the partial text (batch has no continuation)
  batch_item_error              one batch item becomes {"error": {"code": 13, "message": ...}}
  batch_state                   terminal state of every batch job: SUCCEEDED (default), FAILED,
                                EXPIRED or CANCELLED (the last three carry an LRO `error` message)
  batch_expire                  how many batch jobs (the first ones created) end EXPIRED, whatever batch_state
                                says, after answering the first `batch_expire_answered` share (default 0.5) of
                                their requests: the output holds those answers only
  seed                          RNG seed (default 0): the same spec and request order give the same faults
  timeout_s                     how long a `timeout` fault holds the connection (default 1.0 s)

A `timeout` fault reads the request, holds the connection for `timeout_s` and then closes it without
answering: the SDK (httpx) raises httpx.RemoteProtocolError ("Server disconnected without sending a
response"), or httpx.ReadTimeout first when the client's HttpOptions.timeout is shorter than the hold.
Per request at most one HTTP fault and at most one content fault is drawn, each from one uniform draw
over the cumulative rates in the order listed above. Content faults only rewrite an answer that has
text (one whose thinking used up maxOutputTokens is left as it is) and never a continuation hop.

Manual faults (GeminiEmulator.inject_fault, POST /_emulator/faults): the next `count` requests whose
path contains `match` answer HTTP `code`: 429 with RetryInfo (or, with `daily`, the daily-quota 429),
503 with the overload message, any other code with its status name.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.catalog import model_info

from .continuation import ContinuationStore, split_answer
from .wire import STATUS_NAMES, ApiError, Json, daily_quota_exceeded, exhausted, overloaded

if TYPE_CHECKING:
    from .generate import Generated

# New kinds go last: a spec's seeded draws must not change when a kind it does not use is added.
HTTP_FAULTS = ("http_429", "http_500", "timeout", "http_503", "daily_quota")
CONTENT_FAULTS = ("malformed_json", "max_tokens", "safety_block", "continuation")
_PATH_MODEL = re.compile(r"models/([^/:]+)")
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
    batch_expire: int = 0
    batch_expire_answered: float = 0.5

    @classmethod
    def parse(cls, spec: Json | str | None) -> FaultSpec:
        if isinstance(spec, str):
            spec = json.loads(spec) if spec.strip() else {}
        spec = dict(spec or {})
        extra = {"batch_state", "seed", "timeout_s", "batch_expire", "batch_expire_answered"}
        unknown = set(spec) - {*RATE_KEYS, *extra}
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {[*RATE_KEYS, *sorted(extra)]}")
        rates = {k: float(spec[k]) for k in RATE_KEYS if k in spec}
        if any(not 0 <= r <= 1 for r in rates.values()):
            raise ValueError(f"fault rates must be in [0, 1]: {rates}")
        state = str(spec.get("batch_state", "SUCCEEDED")).upper().removeprefix("BATCH_STATE_")
        state = state.removeprefix("JOB_STATE_")
        if state not in BATCH_STATES:
            raise ValueError(f"batch_state must be one of {BATCH_STATES}, got {spec['batch_state']!r}")
        answered = float(spec.get("batch_expire_answered", 0.5))
        if not 0 <= answered <= 1:
            raise ValueError(f"batch_expire_answered must be in [0, 1], got {answered}")
        return cls(
            rates,
            state,
            int(spec.get("seed", 0)),
            float(spec.get("timeout_s", 1.0)),
            int(spec.get("batch_expire", 0)),
            answered,
        )


@dataclass
class Fault:
    """Answer the next `count` requests whose path contains `match` with HTTP `code` (test hook)."""

    code: int
    count: int = 1
    match: str = ""
    message: str | None = None  # None: the API's usual message for the code
    daily: bool = False  # a 429 is the daily-quota one (no RetryInfo)

    def error(self, path: str) -> ApiError:
        if self.code == 429 and self.daily:
            m = _PATH_MODEL.search(path)
            return daily_quota_exceeded(m.group(1) if m else "")
        if self.code == 429:
            return exhausted(self.message or "Resource has been exhausted (e.g. check quota).", 2)
        if self.code == 503 and self.message is None:
            return overloaded()
        message = self.message or "Injected fault (Gemini emulator)."
        return ApiError(self.code, STATUS_NAMES.get(self.code, "UNKNOWN"), message)


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
                    return fault.error(path)
        return None

    def http_fault(self) -> str | None:
        return self._draw(HTTP_FAULTS)

    def content_fault(self) -> str | None:
        return self._draw(CONTENT_FAULTS)

    def item_error(self) -> bool:
        return self._draw(("batch_item_error",)) is not None


def http_fault_error(kind: str, model: str = "") -> ApiError:
    if kind == "http_429":
        return exhausted("Resource has been exhausted (e.g. check quota). [emulator fault http_429]", 2)
    if kind == "http_503":
        return overloaded()
    if kind == "daily_quota":
        return daily_quota_exceeded(model)
    return ApiError(500, "INTERNAL", "An internal error has occurred. [emulator fault http_500]")


def apply_content_fault(kind: str, gen: Generated, continuations: ContinuationStore | None = None) -> bool:
    """Rewrite the answer in place; False when the fault does not apply to this answer."""
    if gen.follow_up:
        return False
    if kind == "safety_block":
        gen.set_answer(None, "SAFETY", 0)
        cand = gen.candidate
        cand.pop("content", None)
        cand["safetyRatings"] = [
            {
                "category": c,
                "probability": "HIGH" if i == 1 else "NEGLIGIBLE",
                **({"blocked": True} if i == 1 else {}),
            }
            for i, c in enumerate(SAFETY_CATEGORIES)
        ]
        return True
    if kind == "continuation":
        return split_answer(gen, continuations)
    text = gen.text
    if not text:
        return False
    cut = text[: max(1, len(text) // 2)]
    try:  # make sure the truncated text really is invalid JSON
        json.loads(cut)
        cut = cut + "{" if cut.strip() else "{"
    except ValueError:
        pass
    finish = "STOP" if kind == "malformed_json" else "MAX_TOKENS"
    gen.set_answer(cut, finish, model_info(gen.model).rules.tokens.text_tokens(cut))
    return True


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
