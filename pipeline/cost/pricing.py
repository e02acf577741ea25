"""Per-request cost from billed usage, and the same formula applied to a pre-flight estimate."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import BaseModel

from pipeline.catalog import ServiceTier, model_price
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


def tier_for_mode(mode: str) -> ServiceTier:
    """The service tier a request of this mode is billed at (`sync` is the Standard tier)."""
    return "batch" if mode == "batch" else "standard"


def request_cost(
    model: str, usage: Usage, *, tier: ServiceTier, on: date | None = None
) -> tuple[Decimal, str]:
    """USD for one request and the price-table version used.

    (prompt - cached) x input rate (audio has its own) + cached x cache-read rate + (output + thoughts) x
    output rate, at the price window of `on`; the service tier multiplies input and output (cached reads
    too only where the table says so). Cached tokens are taken off the non-audio part first unless the
    cache details say they were audio."""
    table, window = model_price(model, on)
    rates = window.rates(usage.prompt_total)
    cached_other = max(0, usage.cached - usage.cached_audio)
    audio_uncached = max(0, usage.audio - usage.cached_audio)
    other_uncached = max(0, usage.prompt_total - usage.audio - cached_other)
    tier_rate = Decimal(str(table.multiplier(tier)))
    cache_rate = tier_rate if table.batch_discounts_cache_reads else Decimal(1)
    total = (
        (_d(other_uncached) * _d(rates.input) + _d(audio_uncached) * _d(rates.input_audio)) * tier_rate
        + (_d(cached_other) * _d(rates.cache_read) + _d(usage.cached_audio) * _d(rates.cache_read_audio))
        * cache_rate
        + _d(usage.output + usage.thoughts) * _d(rates.output) * tier_rate
    ) / _MILLION
    return to_usd(total), table.version


def _d(value: float | int) -> Decimal:
    return Decimal(str(value))


def estimate_cost(
    model: str, estimate: TokenEstimate, *, tier: ServiceTier, on: date | None = None, upper: bool = False
) -> Decimal:
    """USD of an estimate: its expected answer and thoughts, or (`upper`) their upper bounds."""
    usage = Usage(
        text=estimate.text,
        image=estimate.image,
        video=estimate.video,
        audio=estimate.audio,
        output=estimate.output_max if upper else estimate.output,
        thoughts=estimate.thoughts_max if upper else estimate.thoughts,
    )
    return request_cost(model, usage, tier=tier, on=on)[0]


def plan_cost(
    model: str,
    plan: MediaPlan,
    *,
    tier: ServiceTier,
    on: date | None = None,
    upper: bool = False,
    answered_by: Mapping[str, str] | None = None,
) -> Decimal:
    """A source's pre-flight USD: its requests to the run's model, plus its sound requests to the
    plan's audio model when the sound is split off; each priced at the model expected to answer it
    (`answered_by`: the service routed the model's recent requests to another)."""
    routes = answered_by or {}
    cost = estimate_cost(routes.get(model, model), plan.estimate, tier=tier, on=on, upper=upper)
    if plan.sound_estimate is not None and plan.settings.audio_model is not None:
        sound = plan.settings.audio_model
        cost += estimate_cost(routes.get(sound, sound), plan.sound_estimate, tier=tier, on=on, upper=upper)
    return cost


def cache_storage_cost(
    model: str, tokens: int, seconds: float, *, on: date | None = None
) -> tuple[Decimal, str]:
    """USD for holding `tokens` in a context cache for `seconds` (billed per token-hour)."""
    table, window = model_price(model, on)
    hours = Decimal(str(seconds)) / Decimal(3600)
    return to_usd(
        Decimal(tokens) * hours * Decimal(str(window.cache_storage_per_hour)) / _MILLION
    ), table.version
