from datetime import date
from decimal import Decimal

import pytest

from pipeline.catalog import UnknownModelError, price_table
from pipeline.cost import Usage, estimate_cost, request_cost
from pipeline.models import TokenEstimate


def test_flash_batch_cost_follows_the_published_rates() -> None:
    usage = Usage(text=200, video=66 * 120, audio=32 * 120, output=400)
    cost, version = request_cost("gemini-2.5-flash", usage, batch=True, on=date(2026, 6, 1))
    # (8120 x 0.30 + 3840 x 1.00) x 0.5 + 400 x 2.50 x 0.5, per million tokens
    assert cost == Decimal("0.003638000")
    assert version == "2026-03"


def test_sync_costs_twice_batch_and_thoughts_bill_as_output() -> None:
    usage = Usage(text=1000, output=100, thoughts=100)
    batch, _ = request_cost("gemini-2.5-flash", usage, batch=True)
    sync, _ = request_cost("gemini-2.5-flash", usage, batch=False)
    assert sync == batch * 2
    assert sync == Decimal("0.000800000")  # 1000 x 0.30 + 200 x 2.50


def test_pro_uses_the_upper_tier_above_200k_prompt_tokens() -> None:
    small, _ = request_cost("gemini-2.5-pro", Usage(text=200_000), batch=False)
    large, _ = request_cost("gemini-2.5-pro", Usage(text=200_001), batch=False)
    assert small == Decimal("0.250000000")
    assert large == Decimal("0.500002500")


def test_cached_tokens_use_the_cache_rate() -> None:
    cost, _ = request_cost("gemini-2.5-flash", Usage(text=1000, cached=1000), batch=False)
    assert cost == Decimal("0.000030000")


def test_estimate_uses_the_same_formula() -> None:
    est = TokenEstimate(text=100, video=660, audio=320, output=50)
    assert (
        estimate_cost("gemini-2.5-flash", est, batch=False)
        == request_cost("gemini-2.5-flash", Usage(text=100, video=660, audio=320, output=50), batch=False)[0]
    )


def test_unknown_model_names_the_catalog() -> None:
    with pytest.raises(UnknownModelError, match="gemini-9"):
        request_cost("gemini-9", Usage(text=1), batch=True)


def test_price_table_is_chosen_by_effective_date() -> None:
    assert price_table(date(2030, 1, 1)).version == "2026-03"
    assert price_table(date(2026, 3, 1)).effective_date == date(2026, 3, 1)
