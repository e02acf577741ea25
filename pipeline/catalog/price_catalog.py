"""Typed view of prices.json: per model, price windows with effective dates; service-tier multipliers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.catalog.model_catalog import Source, UnknownModelError
from pipeline.errors import ConfigError

ServiceTier = Literal["standard", "batch", "flex", "priority"]


class NoPriceError(ConfigError):
    """The catalog has no price window for this model on this date."""


class Rates(BaseModel):
    """USD per 1M tokens that apply to one request."""

    input: float
    input_audio: float
    output: float
    cache_read: float
    cache_read_audio: float


class LongContext(BaseModel):
    above_prompt_tokens: int
    input: float
    input_audio: float | None = None
    output: float
    cache_read: float | None = None
    cache_read_audio: float | None = None


class PriceWindow(BaseModel):
    """The prices of one model from `from_` to `until` (inclusive; None: until further notice)."""

    from_: date = Field(alias="from")
    until: date | None = None
    input: float
    input_audio: float | None = None
    output: float
    cache_read: float
    cache_read_audio: float | None = None
    cache_storage_per_hour: float
    long_context: LongContext | None = None
    sources: list[str]
    notes: str = ""

    model_config = {"populate_by_name": True}

    def covers(self, on: date) -> bool:
        return self.from_ <= on and (self.until is None or on <= self.until)

    def rates(self, prompt_tokens: int) -> Rates:
        """Standard-tier rates for a request with this many prompt tokens (long-context tier above)."""
        base = Rates(
            input=self.input,
            input_audio=self.input if self.input_audio is None else self.input_audio,
            output=self.output,
            cache_read=self.cache_read,
            cache_read_audio=self.cache_read if self.cache_read_audio is None else self.cache_read_audio,
        )
        tier = self.long_context
        if tier is None or prompt_tokens <= tier.above_prompt_tokens:
            return base
        cache = tier.cache_read if tier.cache_read is not None else base.cache_read
        return Rates(
            input=tier.input,
            input_audio=tier.input if tier.input_audio is None else tier.input_audio,
            output=tier.output,
            cache_read=cache,
            cache_read_audio=cache if tier.cache_read_audio is None else tier.cache_read_audio,
        )


class PriceTable(BaseModel):
    version: str
    read: date
    review_by: date
    sources: dict[str, Source]
    tiers: dict[str, float]
    tiers_sources: list[str]
    batch_discounts_cache_reads: bool
    models: dict[str, list[PriceWindow]]

    def window(self, model: str, on: date) -> PriceWindow:
        name = model.removeprefix("models/")
        windows = self.models.get(name)
        if windows is None:
            raise UnknownModelError(f"no prices for model {model!r} in pipeline/catalog/prices.json")
        for window in windows:
            if window.covers(on):
                return window
        spans = ", ".join(f"{w.from_}..{w.until or 'open'}" for w in windows)
        raise NoPriceError(
            f"no price for model {name} on {on} in pipeline/catalog/prices.json (windows: {spans}); "
            "add the window from the pricing page"
        )

    def multiplier(self, tier: ServiceTier) -> float:
        return self.tiers[tier]

    def ending_soon(self, model: str, on: date, days: int) -> PriceWindow | None:
        """The window in force when it ends within `days` and another one follows (a promotion ending)."""
        try:
            window = self.window(model, on)
        except ConfigError:
            return None
        if window.until is None or (window.until - on).days > days:
            return None
        return window
