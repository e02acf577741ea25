"""Per-request cost from billed usage, and the same formula applied to a pre-flight estimate."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from pipeline.catalog import ServiceTier, model_price
from pipeline.models import MediaPlan, TokenEstimate, Usage

USD = Decimal
_NANO = Decimal("0.000000001")
_MILLION = Decimal(1_000_000)


def to_usd(value: Decimal | float | int) -> Decimal:
    return Decimal(str(value)).quantize(_NANO, rounding=ROUND_HALF_EVEN)


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
