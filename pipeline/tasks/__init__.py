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

from pipeline.errors import ConfigError
from pipeline.models import Track
from pipeline.tasks import describe


@dataclass(frozen=True)
class SpanRow:
    """A time span an answer reports, on the clip's timeline (seconds)."""

    start_s: float
    end_s: float
    label: str
    description: str = ""


@dataclass(frozen=True)
class Task:
    name: str
    version: str
    prompt: str
    response_model: type[BaseModel]
    uses_audio: bool = True  # False: prepared chunks carry no audio track (not paid for)
    # PrepareSettings values this task works well with, e.g. {"video_fps": 0.5} or
    # {"audio_model": "gemini-2.5-flash-lite"} (a video's sound asked of a cheaper model); explicit
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


def _default_spans(answer: BaseModel) -> list[SpanRow]:
    return [
        SpanRow(float(s.start_s), float(s.end_s), str(s.label), str(getattr(s, "description", "") or ""))
        for s in getattr(answer, "segments", []) or []
    ]


# When a video's picture and sound go out as two requests (PrepareSettings.audio_model), each is told
# that the other half exists, so neither reports the missing half as silence or darkness.
TRACK_NOTES: dict[Track, str] = {
    Track.ALL: "",
    Track.PICTURE: "\nThis is the picture of a video whose sound is analysed separately: describe only what "
    "is seen, and report no audio spans.",
    Track.SOUND: "\nThis is the sound track of a video whose picture is analysed separately: describe only "
    "what is heard, and report no scenes.",
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
    version="describe-v1",
    prompt=describe.PROMPT,
    response_model=describe.MediaDescription,
    # Loudness and the spoken language need no big model: flash-lite's audio rate is less than a third
    # of flash's, and audio is a third of a low-resolution video request's tokens.
    prepare_defaults={"audio_model": "gemini-2.5-flash-lite"},
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


__all__ = ["DESCRIBE", "TRACK_NOTES", "SpanRow", "Task", "get_task", "merge_language", "track_prompt"]
