"""The default task: describe each media item (summary, tags, language, time-ranged segments).

What the model is told lives in one place each: the field descriptions of the response model say what
every field holds (label conventions and time units included) and travel in the request as its
response schema (pipeline.tasks.schema); the prompt only says what to do with the media. Every request
of a batch repeats both, so nothing is said twice."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Segment(BaseModel):
    """A time span of this clip, in seconds from the clip's start."""

    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)
    label: str = Field(
        min_length=1, description="'scene: <dominant colour or subject>', 'audio: loud' or 'audio: silent'"
    )
    description: str = Field(default="", description="one sentence on what happens in the span")


class MediaDescription(BaseModel):
    summary: str = Field(
        min_length=1, description="two or three plain sentences on what the media shows or sounds like"
    )
    tags: list[str] = Field(description="5-10 lowercase keywords")
    language: str = Field(description="BCP-47 code of the spoken language, 'und' when nobody speaks")
    segments: list[Segment] = Field(
        default_factory=list,
        description="in time order: a video's scenes and the loud and silent spans of any sound; none "
        "for an image",
    )


PROMPT = "Describe the attached media for a searchable catalogue."
