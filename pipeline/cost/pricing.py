"""Per-request cost from billed usage, and the same formula applied to a pre-flight estimate."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import BaseModel

from pipeline.catalog import ModelPrice, model_price
from pipeline.models import MediaPlan, TokenEstimate

USD = Decimal
_NANO = Decimal("0.000000001")
_MILLION = Decimal(1_000_000)


def to_usd(value: Decimal | float | int) -> Decimal:
    return Decimal(str(value)).quantize(_NANO, rounding=ROUND_HALF_EVEN)


class Usage(BaseModel):
    """Billed tokens of one response, per modality (from `usage_metadata`)."""

    text: int = 0
    image: int = 0
    video: int = 0
    audio: int = 0
    document: int = 0
    cached: int = 0
    cached_audio: int = 0
    output: int = 0
    thoughts: int = 0

    @property
    def prompt_total(self) -> int:
        return self.text + self.image + self.video + self.audio + self.document

    @classmethod
    def from_usage_metadata(cls, meta: Any) -> Usage:
        """Read a google-genai `GenerateContentResponseUsageMetadata` (or None)."""
        if meta is None:
            return cls()
        by_modality: dict[str, int] = {}
        for detail in meta.prompt_tokens_details or []:
            name = str(getattr(detail.modality, "value", detail.modality) or "TEXT").upper()
            by_modality[name] = by_modality.get(name, 0) + int(detail.token_count or 0)
        if not by_modality and meta.prompt_token_count:
            by_modality["TEXT"] = int(meta.prompt_token_count)
        cached_audio = 0
        for detail in meta.cache_tokens_details or []:
            if str(getattr(detail.modality, "value", detail.modality)).upper() == "AUDIO":
                cached_audio += int(detail.token_count or 0)
        return cls(
            text=by_modality.get("TEXT", 0),
            image=by_modality.get("IMAGE", 0),
            video=by_modality.get("VIDEO", 0),
            audio=by_modality.get("AUDIO", 0),
            document=by_modality.get("DOCUMENT", 0),
            cached=int(meta.cached_content_token_count or 0),
            cached_audio=cached_audio,
            output=int(meta.candidates_token_count or 0),
            thoughts=int(meta.thoughts_token_count or 0),
        )


def _rates(price: ModelPrice, prompt_tokens: int) -> tuple[float, float, float, float, float]:
    above = price.tier_threshold_tokens is not None and prompt_tokens > price.tier_threshold_tokens
    if above:
        return (
            price.input_above or price.input,
            price.input_audio_above or price.input_audio,
            price.output_above or price.output,
            price.cache_above or price.cache,
            price.cache_audio_above or price.cache_audio,
        )
    return price.input, price.input_audio, price.output, price.cache, price.cache_audio


def request_cost(model: str, usage: Usage, *, batch: bool, on: date | None = None) -> tuple[Decimal, str]:
    """USD for one request and the price-table version used.

    (prompt - cached) x input rate (audio has its own) + cached x cache rate + (output + thoughts) x
    output rate; Batch Mode discounts input and output; cached tokens are taken off the non-audio part
    first unless the cache details say they were audio."""
    table, price = model_price(model, on)
    rate_in, rate_audio, rate_out, rate_cache, rate_cache_audio = _rates(price, usage.prompt_total)
    cached_other = max(0, usage.cached - usage.cached_audio)
    audio_uncached = max(0, usage.audio - usage.cached_audio)
    other_uncached = max(0, usage.prompt_total - usage.audio - cached_other)
    discount = Decimal(str(table.batch_discount)) if batch else Decimal(1)
    total = (
        (Decimal(other_uncached) * Decimal(str(rate_in)) + Decimal(audio_uncached) * Decimal(str(rate_audio)))
        * discount
        + Decimal(cached_other) * Decimal(str(rate_cache))
        + Decimal(usage.cached_audio) * Decimal(str(rate_cache_audio))
        + Decimal(usage.output + usage.thoughts) * Decimal(str(rate_out)) * discount
    ) / _MILLION
    return to_usd(total), table.version


def estimate_cost(model: str, estimate: TokenEstimate, *, batch: bool, on: date | None = None) -> Decimal:
    usage = Usage(
        text=estimate.text,
        image=estimate.image,
        video=estimate.video,
        audio=estimate.audio,
        output=estimate.output,
    )
    return request_cost(model, usage, batch=batch, on=on)[0]


def plan_cost(model: str, plan: MediaPlan, *, batch: bool, on: date | None = None) -> Decimal:
    """A source's pre-flight USD: its requests to the run's model, plus its sound requests to the
    plan's audio model when the sound is split off."""
    cost = estimate_cost(model, plan.estimate, batch=batch, on=on)
    if plan.sound_estimate is not None and plan.settings.audio_model is not None:
        cost += estimate_cost(plan.settings.audio_model, plan.sound_estimate, batch=batch, on=on)
    return cost


def cache_storage_cost(
    model: str, tokens: int, seconds: float, *, on: date | None = None
) -> tuple[Decimal, str]:
    """USD for holding `tokens` in a context cache for `seconds` (billed per token-hour)."""
    table, price = model_price(model, on)
    hours = Decimal(str(seconds)) / Decimal(3600)
    return to_usd(
        Decimal(tokens) * hours * Decimal(str(price.cache_storage_per_hour)) / _MILLION
    ), table.version
