"""Tasks: what Gemini is asked. A task is a prompt, a pydantic response model and a version.

Add a task without touching the stages: define a `Task` in any importable module and select it with
`--task package.module:NAME`, or register it under the `gemini_media_pipeline.tasks` entry-point group
(then `--task NAME`). Bump `version` whenever the prompt or the model changes: answers are reused only
for the same task version and model.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

from pipeline.catalog import ThinkingChoice, model_info
from pipeline.errors import ConfigError
from pipeline.models import Track
from pipeline.tasks import describe
from pipeline.tasks.schema import response_schema


@dataclass(frozen=True)
class SpanRow:
    """A time span an answer reports, on the clip's timeline (seconds)."""

    start_s: float
    end_s: float
    label: str
    description: str = ""


@dataclass(frozen=True)
class AnswerPrior:
    """What the estimate assumes of a task's answers before any run of it has been billed: an answer of
    `base_tokens` plus `tokens_per_second` of media (time-ranged segments grow with the media), images
    `image_tokens`; the upper bound is `upper_factor` times that. After the first run the estimate
    learns the real sizes from the destination's `requests` table (pipeline.plan)."""

    base_tokens: int = 150
    tokens_per_second: float = 1.5
    image_tokens: int = 130
    upper_factor: float = 2.0


@dataclass(frozen=True)
class Generation:
    """What one request to one model may spend on output: its thinking and its max_output_tokens."""

    thinking: ThinkingChoice
    max_output_tokens: int


@dataclass(frozen=True)
class Task:
    name: str
    version: str
    prompt: str
    response_model: type[BaseModel]
    uses_audio: bool = True  # False: prepared chunks carry no audio track (not paid for)
    # True: a source's text subtitle track (SRT, ASS, mov_text, WebVTT) goes with each chunk as a text
    # part of the cues that overlap it (pipeline.media.subtitles), counted in the estimate.
    subtitles: bool = False
    # How much the model should think: MINIMAL, LOW, MEDIUM, HIGH, XHIGH (rounded up to what a model
    # accepts; a thinking_budget on 2.5 models) or DEFAULT (send nothing: the model's own default).
    thinking: str = "LOW"
    # Thinking of a split video's sound request (its own, cheaper model); None: as `thinking`.
    sound_thinking: str | None = None
    # Room for the answer itself; max_output_tokens adds the thinking level's room (pipeline/catalog).
    max_answer_tokens: int = 2048
    answer_prior: AnswerPrior = field(default_factory=AnswerPrior)
    # PrepareSettings values this task works well with, e.g. {"video_fps": 0.5} or
    # {"audio_model": "gemini-3.5-flash-lite"} (a video's sound asked of a cheaper model); explicit
    # settings win.
    prepare_defaults: dict[str, Any] = field(default_factory=dict)
    # How an answer maps onto the tables; the defaults read the fields the describe task uses.
    spans: Callable[[BaseModel], list[SpanRow]] = field(default=lambda answer: _default_spans(answer))
    summary: Callable[[BaseModel], str] = field(
        default=lambda answer: str(getattr(answer, "summary", "") or "")
    )
    tags: Callable[[BaseModel], list[str]] = field(
        default=lambda answer: list(getattr(answer, "tags", []) or [])
    )
    language: Callable[[BaseModel], str | None] = field(
        default=lambda answer: getattr(answer, "language", None)
    )

    def response_schema(self) -> dict[str, Any]:
        """The response model's JSON Schema as every request carries it (pipeline.tasks.schema)."""
        return response_schema(self.response_model)

    def generation_for(
        self, model: str, max_output_tokens: int | None = None, *, escalate: bool = False, sound: bool = False
    ) -> Generation:
        """Thinking and max_output_tokens of this task's requests to `model` (`sound`: a split video's
        sound request). Thinking counts against max_output_tokens, so the cap leaves room for both (an
        explicit `max_output_tokens` wins). With `escalate` (the retry of an answer cut at MAX_TOKENS)
        the cap doubles and thinking drops a level where the model allows it."""
        info = model_info(model)
        level = (self.sound_thinking if sound else None) or self.thinking
        if escalate:
            level = _lower_level(info.thinking_for(level).effective)
        thinking = info.thinking_for(level)
        cap = max_output_tokens or self.max_answer_tokens + thinking.room
        if escalate:
            cap *= 2
        return Generation(thinking=thinking, max_output_tokens=min(cap, info.output_token_limit))


def _lower_level(level: str) -> str:
    from pipeline.catalog import THINKING_ORDER

    index = THINKING_ORDER.index(level) if level in THINKING_ORDER else 1
    return THINKING_ORDER[max(0, index - 1)]


def _default_spans(answer: BaseModel) -> list[SpanRow]:
    return [
        SpanRow(float(s.start_s), float(s.end_s), str(s.label), str(getattr(s, "description", "") or ""))
        for s in getattr(answer, "segments", []) or []
    ]


# When a video's picture and sound go out as two requests (PrepareSettings.audio_model), each is told
# that the other half exists, so neither reports the missing half as silence or darkness.
TRACK_NOTES: dict[Track, str] = {
    Track.ALL: "",
    Track.PICTURE: "\nThis is the picture of a video whose sound is described apart: describe only what is "
    "seen, with no audio spans.",
    Track.SOUND: "\nThis is the sound of a video whose picture is described apart: describe only what is "
    "heard, with no scenes.",
}


def track_prompt(prompt: str, track: Track) -> str:
    """The prompt a request for this track carries."""
    return prompt + TRACK_NOTES[track]


def merge_language(values: list[str | None]) -> str | None:
    spoken = [v for v in values if v and v != "und"]
    if spoken:
        return Counter(spoken).most_common(1)[0][0]
    return "und" if any(values) else None


DESCRIBE = Task(
    name="describe",
    version="describe-v3",
    prompt=describe.PROMPT,
    response_model=describe.MediaDescription,
    # Describing what is seen needs little reasoning: low thinking keeps thought tokens (billed as
    # output) near the answer's size. Loud and silent spans and the spoken language need none: minimal
    # thinking (Flash-Lite's own default) for the sound request.
    thinking="LOW",
    sound_thinking="MINIMAL",
    # What is said on screen is cheap context for the description (~4 characters a token).
    subtitles=True,
    # Loudness and the spoken language need no big model: a video's sound goes to Flash-Lite where the
    # cost rule finds it cheaper (pipeline.plan.chunk_plan); one rate of $0.30/M against the run model's.
    prepare_defaults={"audio_model": "gemini-3.5-flash-lite"},
)

BUILTIN: dict[str, Task] = {DESCRIBE.name: DESCRIBE}


def get_task(name: str) -> Task:
    """A built-in task, an entry-point task, or `module:attr`."""
    if name in BUILTIN:
        return BUILTIN[name]
    for ep in entry_points(group="gemini_media_pipeline.tasks"):
        if ep.name == name:
            return _checked(ep.load(), name)
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            return _checked(getattr(importlib.import_module(module), attr), name)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"task {name!r} cannot be loaded: {exc}") from exc
    raise ConfigError(
        f"unknown task {name!r}: built-in tasks are {', '.join(sorted(BUILTIN))}; "
        "use package.module:NAME for your own Task"
    )


def _checked(obj: object, name: str) -> Task:
    if not isinstance(obj, Task):
        raise ConfigError(f"task {name!r} is a {type(obj).__name__}, not a pipeline.tasks.Task")
    return obj


__all__ = [
    "DESCRIBE",
    "TRACK_NOTES",
    "AnswerPrior",
    "Generation",
    "SpanRow",
    "Task",
    "get_task",
    "merge_language",
    "track_prompt",
]
