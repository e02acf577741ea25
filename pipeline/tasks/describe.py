"""The default task: describe each media item (summary, tags, language, time-ranged segments)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Segment(BaseModel):
    """A time span of the clip, in seconds from the start of the clip that was sent."""

    start_s: float = Field(ge=0, description="start of the span, seconds from the start of this clip")
    end_s: float = Field(ge=0, description="end of the span, seconds from the start of this clip")
    label: str = Field(
        min_length=1, description="short name of what is in the span, e.g. 'scene: red' or 'audio: silent'"
    )
    description: str = Field(default="", description="one sentence on what happens in the span")


class MediaDescription(BaseModel):
    summary: str = Field(min_length=1, description="two or three sentences describing the media")
    tags: list[str] = Field(description="5-10 lowercase keywords")
    language: str = Field(description="BCP-47 code of the spoken language, 'und' when none")
    segments: list[Segment] = Field(
        default_factory=list, description="scenes (video) and loud/silent spans (audio), in time order"
    )


PROMPT = """You are annotating media for a searchable catalogue.
Describe the attached media. Return JSON that matches the response schema:
- summary: two or three plain sentences on what the media shows or sounds like;
- tags: 5-10 lowercase keywords;
- language: the BCP-47 code of the spoken language, or "und" when nobody speaks;
- segments: for video, one segment per scene (label "scene: <dominant colour or subject>"), and for
  sound, spans labelled "audio: loud" or "audio: silent"; times in seconds from the start of this clip.
Images have no segments."""
