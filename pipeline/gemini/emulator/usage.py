"""usageMetadata as the emulator bills it (OFFLINE TEST DOUBLE), from the catalog's documented token rules.

Per media part: video frames x frame tokens at the media resolution (VIDEO) plus the audio track at the
audio rate (AUDIO); audio files (AUDIO); images by size or resolution (IMAGE); PDF pages as small images
(DOCUMENT). Text: text_tokens over all text parts of the request joined together, system instruction
included (TEXT). Output: text_tokens of the answer. No numbers live here: they come from pipeline.catalog.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from pipeline.catalog import TokenRules

from .analysis import MediaFacts

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


def usage_metadata(prompt_by_modality: dict[str, int], output_tokens: int) -> dict:
    prompt = sum(prompt_by_modality.values())
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": prompt + output_tokens,
        "promptTokensDetails": [{"modality": m, "tokenCount": n} for m, n in prompt_by_modality.items()],
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": output_tokens}],
    }


class Stats:
    """Thread-safe counters behind GeminiEmulator.stats() and GET /_emulator/stats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.prompt_tokens: Counter[str] = Counter()
        self.output_tokens = 0
        self.batch_jobs_created = 0
        self.batch_requests = 0
        self.generated = Counter[str]()

    def request(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def error(self, status: str) -> None:
        with self._lock:
            self.errors[status] += 1

    def billed(self, mode: str, prompt_by_modality: dict[str, int], output_tokens: int) -> None:
        with self._lock:
            self.prompt_tokens.update(prompt_by_modality)
            self.output_tokens += output_tokens
            self.generated[mode] += 1

    def batch_created(self, n_requests: int) -> None:
        with self._lock:
            self.batch_jobs_created += 1
            self.batch_requests += n_requests

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests_total": sum(self.requests.values()),
                "requests": dict(self.requests),
                "errors": dict(self.errors),
                "batch_jobs_created": self.batch_jobs_created,
                "batch_requests": self.batch_requests,
                "responses_generated": dict(self.generated),
                "tokens": {
                    "prompt_by_modality": dict(self.prompt_tokens),
                    "prompt": sum(self.prompt_tokens.values()),
                    "output": self.output_tokens,
                },
            }
