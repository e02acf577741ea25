"""Typed view of models.json: families (token, thinking and generation rules) and models (lifecycle, limits)."""

from __future__ import annotations

import math
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from pipeline.errors import ConfigError

# Order of thinking levels, least to most thinking; "DEFAULT" sends no thinking config at all.
THINKING_ORDER = ("MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH")
DEFAULT_THINKING = "DEFAULT"
SHUTDOWN_WARNING_DAYS = 30
UNSPECIFIED = "MEDIA_RESOLUTION_UNSPECIFIED"


class UnknownModelError(ConfigError):
    """The model id is not in pipeline/catalog/models.json."""


class RetiredModelError(ConfigError):
    """The model was shut down: the message names its replacement."""

    def __init__(self, message: str, *, model: str, replacement: str | None) -> None:
        super().__init__(message)
        self.model, self.replacement = model, replacement


class Source(BaseModel):
    url: str
    kind: Literal["primary", "vertex", "secondary", "assumption"]
    read: date


class ImageTiles(BaseModel):
    """2.x default resolution: one small image, or 768 px tiles."""

    small_max_px: int
    small_tokens: int
    tile_px: int
    tile_tokens: int


class TokenRules(BaseModel):
    """How one model family turns media into prompt tokens."""

    image: dict[str, int]  # fixed tokens per image, by media resolution
    image_default: ImageTiles | None = None  # resolutions not in `image` are tiled (2.x default)
    video_frame: dict[str, int]
    audio_per_second: int
    text_chars_per_token: int

    def image_tokens(self, width: int, height: int, resolution: str = UNSPECIFIED) -> int:
        if resolution in self.image:
            return self.image[resolution]
        if self.image_default is None:
            return self.image[UNSPECIFIED]
        tiles = self.image_default
        if width <= tiles.small_max_px and height <= tiles.small_max_px:
            return tiles.small_tokens
        count = math.ceil(width / tiles.tile_px) * math.ceil(height / tiles.tile_px)
        return count * tiles.tile_tokens

    def frame_tokens(self, resolution: str = UNSPECIFIED) -> int:
        return self.video_frame.get(resolution, self.video_frame[UNSPECIFIED])

    @staticmethod
    def frames_sampled(duration_s: float, fps: float) -> int:
        """Frames the service samples from a clip: one at t=0, then every 1/fps seconds."""
        if duration_s <= 0:
            return 1
        return max(1, math.ceil(round(duration_s * fps, 6)))

    def video_tokens(self, duration_s: float, fps: float, resolution: str = UNSPECIFIED) -> int:
        return self.frames_sampled(duration_s, fps) * self.frame_tokens(resolution)

    def audio_tokens(self, duration_s: float) -> int:
        return max(0, math.ceil(round(duration_s * self.audio_per_second, 6)))

    def text_tokens(self, text: str) -> int:
        return math.ceil(len(text) / self.text_chars_per_token) if text else 0


class ThinkingLevelRule(BaseModel):
    budget: int | None = None  # budget families: the thinking_budget a level maps to
    typical_thoughts: int  # thought tokens per request expected at this level (the estimator's prior)
    room: int  # max_output_tokens reserved for thoughts at this level


class ThinkingRules(BaseModel):
    control: Literal["level", "budget"]
    levels: dict[str, ThinkingLevelRule]
    sources: list[str] = Field(default_factory=list)
    notes: str = ""


class MediaUrlRule(BaseModel):
    """Whether a family's models fetch media themselves from an external (e.g. pre-signed S3) URL."""

    accepted: bool
    sources: list[str]
    notes: str = ""


class Family(BaseModel):
    name: str = ""
    sources: list[str]
    notes: str = ""
    tokens: TokenRules
    request_resolutions: list[str]
    part_resolutions: list[str]
    thinking: ThinkingRules
    # parameter -> supported | ignored (accepted, no effect: never sent) | rejected (400)
    sampling: dict[str, Literal["supported", "ignored", "rejected"]]
    explicit_cache: bool
    media_url: MediaUrlRule

    @property
    def per_part_resolution(self) -> bool:
        return bool(self.part_resolutions)


class ThinkingBudgetRange(BaseModel):
    min: int
    max: int
    can_disable: bool


class ThinkingChoice(BaseModel):
    """What a request sends for a task's thinking level, and what to expect of it."""

    level: str | None = None  # thinking_level to send (level families)
    budget: int | None = None  # thinking_budget to send (budget families)
    effective: str  # the level the model will think at (the model's default when nothing is sent)
    typical_thoughts: int
    room: int


class ModelInfo(BaseModel):
    name: str = ""
    family: str
    status: Literal["ga", "preview", "deprecated", "retired"]
    released: date | None = None
    shutdown: date | None = None  # earliest date the service stops serving it (deprecations page)
    replacement: str | None = None
    routed_to: str | None = None  # where the service sends requests to it after shutdown
    input_token_limit: int
    output_token_limit: int
    min_cache_tokens: int | None  # explicit caches smaller than this are refused; None: no explicit caching
    thinking_levels: list[str] | None = None
    thinking_budget: ThinkingBudgetRange | None = None
    default_thinking: str
    sources: list[str]
    notes: str = ""
    _rules: Family | None = PrivateAttr(default=None)

    @property
    def rules(self) -> Family:
        """The model's family: token, thinking and generation rules."""
        assert self._rules is not None, "models are loaded with their family"
        return self._rules

    def retired_on(self, on: date) -> bool:
        return self.status == "retired" or (self.shutdown is not None and on >= self.shutdown)

    def days_to_shutdown(self, on: date) -> int | None:
        return (self.shutdown - on).days if self.shutdown is not None else None

    def lifecycle_warning(self, on: date) -> str | None:
        """A warning for a model that is deprecated or within 30 days of its shutdown date."""
        if self.retired_on(on):
            return None
        days = self.days_to_shutdown(on)
        instead = f"; move to {self.replacement}" if self.replacement else ""
        if days is not None and days <= SHUTDOWN_WARNING_DAYS:
            return f"model {self.name} shuts down on {self.shutdown} (in {days} day(s)){instead}"
        if self.status == "deprecated":
            return f"model {self.name} is deprecated (no shutdown date announced yet){instead}"
        return None

    def thinking_for(self, level: str) -> ThinkingChoice:
        """A task's thinking level on this model: the nearest level the model accepts (rounding up, so
        a task never thinks less than asked except where the model cannot go that low), mapped onto a
        thinking_budget on budget families."""
        rules = self.rules.thinking
        if level.upper() == DEFAULT_THINKING:
            default = self.default_thinking.upper()
            rule = rules.levels.get(default) or rules.levels[max(rules.levels, key=THINKING_ORDER.index)]
            return ThinkingChoice(effective=default, typical_thoughts=rule.typical_thoughts, room=rule.room)
        wanted = level.upper()
        if wanted not in THINKING_ORDER:
            raise ConfigError(
                f"thinking level {level!r}: choose one of {', '.join(THINKING_ORDER)} or default"
            )
        if rules.control == "budget":
            return self._budget_choice(wanted, rules)
        allowed = [lv for lv in THINKING_ORDER if lv in (self.thinking_levels or list(rules.levels))]
        above = [lv for lv in allowed if THINKING_ORDER.index(lv) >= THINKING_ORDER.index(wanted)]
        chosen = above[0] if above else allowed[-1]
        rule = rules.levels[chosen]
        return ThinkingChoice(
            level=chosen, effective=chosen, typical_thoughts=rule.typical_thoughts, room=rule.room
        )

    def _budget_choice(self, wanted: str, rules: ThinkingRules) -> ThinkingChoice:
        known = [lv for lv in THINKING_ORDER if lv in rules.levels]
        chosen = wanted if wanted in rules.levels else known[-1]
        rule = rules.levels[chosen]
        budget = rule.budget or 0
        limits = self.thinking_budget
        if limits is not None:
            if budget == 0 and not limits.can_disable:
                budget = limits.min
            elif budget:
                budget = max(limits.min, min(limits.max, budget))
        # A model that cannot switch thinking off thinks up to its minimum budget even when asked not to.
        typical = min(max(rule.typical_thoughts, budget if not rule.budget else 0), budget)
        return ThinkingChoice(
            budget=budget,
            effective=chosen,
            typical_thoughts=typical,
            room=max(min(rule.room, budget), typical),
        )


class EnqueuedTokenCaps(BaseModel):
    """Batch enqueued-token caps per model, by usage tier: `tiers[tier][kind]`, kind `flash` (a model
    whose id names Flash) or `pro`; a model with no entry has no documented cap."""

    read: date
    sources: list[str]
    notes: str = ""
    tiers: dict[str, dict[str, int]]

    def cap(self, tier: str, model: str) -> int | None:
        if tier not in self.tiers:
            raise KeyError(tier)
        kind = "flash" if "flash" in model else "pro"
        return self.tiers[tier].get(kind)


class TransportLimits(BaseModel):
    sources: list[str]
    notes: str = ""
    inline_request_max_bytes: int
    url_request_max_bytes: int  # media fetched from an external URL, per request
    batch_job_expiry_hours: float  # a batch job pending or running longer than this expires
    batch_inline_total_max_bytes: int
    files_api_max_bytes: int
    batch_jsonl_max_bytes: int  # a batch job's JSONL input file
    batch_max_jobs_in_flight: int  # concurrent (unfinished) batch jobs per project
    batch_enqueued_tokens: EnqueuedTokenCaps
    video_fps_max: float
    video_fps_default: float
    mime_types: list[str]  # what a media part may be (image, video, audio and document MIME types)


class ModelCatalog(BaseModel):
    version: str
    read: date
    review_by: date
    sources: dict[str, Source]
    families: dict[str, Family]
    models: dict[str, ModelInfo]
    defaults: dict[str, str]
    transport: TransportLimits
    api_version: dict[str, object]

    def model_post_init(self, __context: object) -> None:
        for name, family in self.families.items():
            family.name = name
        for name, info in self.models.items():
            info.name = name
            info._rules = self.families[info.family]

    def get(self, model: str) -> ModelInfo:
        name = model.removeprefix("models/")
        info = self.models.get(name)
        if info is None:
            current = sorted(n for n, m in self.models.items() if m.status != "retired")
            raise UnknownModelError(
                f"unknown model {model!r}: pipeline/catalog/models.json lists {', '.join(current)} "
                "(add a new model there, with its prices in prices.json)"
            )
        return info

    def usable(self, model: str, on: date) -> ModelInfo:
        """The model, or a RetiredModelError naming its replacement when it is shut down on `on`."""
        info = self.get(model)
        if info.retired_on(on):
            routed = f" (the service routes its requests to {info.routed_to})" if info.routed_to else ""
            raise RetiredModelError(
                f"model {info.name} was shut down on {info.shutdown}{routed}: use {info.replacement or self.defaults['run_model']} "
                "(pipeline/catalog/models.json)",
                model=info.name,
                replacement=info.replacement,
            )
        return info

    def resolve_version(self, model_version: str | None) -> str | None:
        """The catalog id of a response's `modelVersion` ("gemini-3.8-flash", "models/gemini-3.8-flash-001",
        "gemini-3.8-flash-preview-09-2026" ...): the longest catalog id it starts with, or None."""
        if not model_version:
            return None
        text = model_version.removeprefix("models/")
        if text in self.models:
            return text
        matches = [name for name in self.models if text.startswith(name + "-") or text == name]
        return max(matches, key=len) if matches else None
