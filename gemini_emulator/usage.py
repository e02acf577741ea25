"""usageMetadata as the emulator bills it (OFFLINE TEST DOUBLE), from the catalog's documented token rules.

Per media part: video frames x frame tokens at the media resolution (VIDEO) plus the audio track at the
audio rate (AUDIO); audio files (AUDIO); images by size or resolution (IMAGE); PDF pages as small images
(DOCUMENT). Text: text_tokens over all text parts of the request joined together, system instruction
included (TEXT). Output: text_tokens of the answer, thoughts apart (thinking.py). No numbers live here:
they come from pipeline.catalog.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.catalog import TokenRules

from .analysis import MediaFacts
from .wire import Json

if TYPE_CHECKING:
    from .generate import Generated

MODALITIES = ("TEXT", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT")


@dataclass
class MediaPart:
    facts: MediaFacts
    fps: float
    resolution: str


def prompt_tokens(rules: TokenRules, parts: list[MediaPart], texts: list[str]) -> dict[str, int]:
    """Tokens per modality for one request (only modalities present are keys)."""
    by: Counter[str] = Counter()
    joined = "".join(texts)
    if joined:
        by["TEXT"] += rules.text_tokens(joined)
    for part in parts:
        f = part.facts
        if f.kind == "video":
            by["VIDEO"] += rules.video_tokens(f.duration_s, part.fps, part.resolution)
            if f.has_audio:
                by["AUDIO"] += rules.audio_tokens(f.duration_s)
        elif f.kind == "audio":
            by["AUDIO"] += rules.audio_tokens(f.duration_s)
        elif f.kind == "image":
            by["IMAGE"] += rules.image_tokens(f.width, f.height, part.resolution)
        elif f.kind == "document":
            # a PDF page is billed like one small image
            by["DOCUMENT"] += f.pages * rules.image_tokens(1, 1, part.resolution)
        elif f.kind == "text":
            by["TEXT"] += rules.text_tokens(f.text)
    return {m: by[m] for m in MODALITIES if m in by}


def usage_metadata(
    prompt_by_modality: dict[str, int],
    output_tokens: int,
    cached_by_modality: dict[str, int] | None = None,
    thoughts: int = 0,
) -> Json:
    """promptTokenCount includes cached tokens; thoughts are billed as output and are part of the total.
    Counts that are zero are left out, as the API leaves them out (no answer: no candidatesTokenCount;
    no thinking: no thoughtsTokenCount); cachedContentTokenCount/cacheTokensDetails only with a cache."""
    prompt = sum(prompt_by_modality.values())
    out: Json = {"promptTokenCount": prompt}
    if output_tokens:
        out["candidatesTokenCount"] = output_tokens
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    out["totalTokenCount"] = prompt + output_tokens + thoughts
    out["promptTokensDetails"] = [{"modality": m, "tokenCount": n} for m, n in prompt_by_modality.items()]
    if output_tokens:
        out["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": output_tokens}]
    if cached_by_modality:
        out["cachedContentTokenCount"] = sum(cached_by_modality.values())
        out["cacheTokensDetails"] = [{"modality": m, "tokenCount": n} for m, n in cached_by_modality.items()]
    return out


class Stats:
    """Thread-safe counters behind GeminiEmulator.stats() and GET /_emulator/stats (read-only)."""

    def __init__(self, log_size: int = 200) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.by_model: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.http_codes: Counter[int] = Counter()
        self.prompt_tokens: Counter[str] = Counter()
        self.cached_tokens: Counter[str] = Counter()
        self.output_tokens = 0
        self.thought_tokens = 0
        self.routed: Counter[str] = Counter()  # "requested->answering": answers of a routed id
        self.ignored: Counter[str] = Counter()  # sampling parameters sent where the model ignores them
        self.batch_jobs: list[str] = []
        self.batch_requests = 0
        self.generated = Counter[str]()
        self.faults: Counter[str] = Counter()
        self.rate_limited = 0
        self.log: deque[Json] = deque(maxlen=log_size)

    def request(self, route: str, model: str | None = None) -> None:
        with self._lock:
            self.requests[route] += 1
            if model:
                self.by_model[model] += 1

    def record(self, entry: Json) -> None:
        with self._lock:
            self.log.append(entry)

    def recorded(self) -> list[Json]:
        with self._lock:
            return list(self.log)

    def error(self, status: str, code: int = 0) -> None:
        with self._lock:
            self.errors[status] += 1
            if code:
                self.http_codes[code] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def throttled(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def billed(self, mode: str, gen: Generated) -> None:
        with self._lock:
            self.prompt_tokens.update(gen.prompt_by_modality)
            self.cached_tokens.update(gen.cached_by_modality)
            self.output_tokens += gen.output_tokens
            self.thought_tokens += gen.thoughts
            if gen.requested and gen.requested != gen.model:
                self.routed[f"{gen.requested}->{gen.model}"] += 1
            self.ignored.update(gen.ignored)
            self.generated[mode] += 1

    def batch_created(self, name: str, n_requests: int) -> None:
        with self._lock:
            self.batch_jobs.append(name)
            self.batch_requests += n_requests

    def snapshot(self) -> Json:
        with self._lock:
            return {
                "requests_total": sum(self.requests.values()),
                "requests": dict(self.requests),
                "requests_by_model": dict(self.by_model),
                "errors": dict(self.errors),
                "http_errors": {str(k): v for k, v in self.http_codes.items()},
                "http_429_sent": self.http_codes[429],
                "rate_limited": self.rate_limited,
                "faults_injected": dict(self.faults),
                "batch_jobs_created": len(self.batch_jobs),
                "batch_job_names": list(self.batch_jobs),
                "batch_requests": self.batch_requests,
                "responses_generated": dict(self.generated),
                "routed": dict(self.routed),
                "ignored_parameters": dict(self.ignored),
                "tokens": {
                    "prompt_by_modality": dict(self.prompt_tokens),
                    "cached_by_modality": dict(self.cached_tokens),
                    "prompt": sum(self.prompt_tokens.values()),
                    "cached": sum(self.cached_tokens.values()),
                    "output": self.output_tokens,
                    "thoughts": self.thought_tokens,
                },
            }
