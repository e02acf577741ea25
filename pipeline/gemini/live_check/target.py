"""What every live check shares: the models under check, the tiny task its requests are built for, the
output caps that keep the whole run to a few cents, and the request it plans (for the cost estimate)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

from google.genai import types

from pipeline.account import Usage
from pipeline.catalog import utc_today
from pipeline.gemini.client import GeminiClient
from pipeline.gemini.live_check.calls import Outcome, attempt
from pipeline.tasks import DESCRIBE, Task

PROMPT = "Describe."
# Token, routing and sampling requests only need the usage and the model that answered, not an answer:
# a small cap bounds what their thoughts and answers can cost (an answer cut at MAX_TOKENS still
# reports its prompt tokens).
SMALL_OUTPUT_TOKENS = 64
# Thinking requests need room to think, but the cap bounds their cost: thoughts above it are reported
# as reaching the cap (the row says so), which is enough to see how a level compares with its prior.
THINKING_OUTPUT_TOKENS = 768


@dataclass(frozen=True)
class Target:
    model: str  # the run model (--model)
    audio_model: str  # the model a video's sound goes to (--audio-model)
    media_resolution: str = "MEDIA_RESOLUTION_LOW"  # the pipeline's own (Settings.media_resolution)
    today: date = field(default_factory=utc_today)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys([self.model, self.audio_model]))


@dataclass(frozen=True)
class Planned:
    """One request a check sends, as the cost estimate sees it."""

    check: str
    billed_model: str  # whose rates bill it (the routed-to model for a retired id)
    usage: Usage  # prompt tokens as the catalog counts them; output at the request's cap
    cache_seconds: float = 0.0  # storage held by a context cache it creates
    billed: bool = True  # False where the catalog expects a refusal (the service bills nothing for a 4xx)


def probe_task(thinking: str = "MINIMAL") -> Task:
    """The describe task with a one-word prompt: the pipeline's schema and builders, few tokens. MINIMAL
    thinking rounds up to the least a model takes (pipeline.catalog ModelInfo.thinking_for)."""
    return dataclasses.replace(
        DESCRIBE, name="live-check", prompt=PROMPT, thinking=thinking, sound_thinking=None
    )


def generate(
    client: GeminiClient,
    model: str,
    contents: list[types.Content],
    config: types.GenerateContentConfig,
) -> Outcome[types.GenerateContentResponse]:
    """One generateContent; errors are named by the method (the row names the case)."""
    return attempt(
        lambda: client.generate(model, contents, config),
        "generateContent",
    )
