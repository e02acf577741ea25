"""Costs against the hand-worked documented cases, and the rules around them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.account import Usage, estimate_cost, request_cost
from pipeline.catalog import NoPriceError, UnknownModelError, price_table
from pipeline.models import TokenEstimate
from tests.documented_cases import PRICE_CASES, PriceCase


@pytest.mark.parametrize("case", PRICE_CASES, ids=lambda c: c.name)
def test_documented_price_cases(case: PriceCase) -> None:
    cost, version = request_cost(case.model, Usage(**case.usage), tier=case.tier, on=case.on)
    assert cost == case.usd, case.source
    assert version == price_table().version


def test_a_promotion_ends_on_its_date() -> None:
    usage = Usage(text=1_000_000)
    last, _ = request_cost("gemini-3.8-flash", usage, tier="standard", on=date(2026, 12, 31))
    first, _ = request_cost("gemini-3.8-flash", usage, tier="standard", on=date(2027, 1, 1))
    assert (last, first) == (Decimal("0.75"), Decimal("1.50"))


def test_a_shut_down_model_has_no_price_after_its_last_window() -> None:
    with pytest.raises(NoPriceError, match="gemini-2.5-flash on 2026-12-01"):
        request_cost("gemini-2.5-flash", Usage(text=1), tier="standard", on=date(2026, 12, 1))


def test_batch_does_not_halve_cached_reads_unless_the_table_says_so() -> None:
    # 8k cached at $0.075/M = 0.0006 in both tiers: only the 2k uncached input is halved
    standard, _ = request_cost(
        "gemini-3.8-flash", Usage(text=10_000, cached=8_000), tier="standard", on=date(2026, 12, 15)
    )
    batch, _ = request_cost(
        "gemini-3.8-flash", Usage(text=10_000, cached=8_000), tier="batch", on=date(2026, 12, 15)
    )
    assert standard - batch == Decimal("0.00075")  # half of 2k x $0.75/M


def test_the_estimate_prices_its_expectation_and_its_upper_bound() -> None:
    est = TokenEstimate(text=1000, video=7000, output=200, thoughts=400, output_max=500, thoughts_max=1000)
    on = date(2026, 12, 15)
    # (8000 x 0.75 + 600 x 3.75) / 1M = 0.00825; upper: (8000 x 0.75 + 1500 x 3.75) / 1M = 0.011625
    assert estimate_cost("gemini-3.8-flash", est, tier="standard", on=on) == Decimal("0.00825")
    assert estimate_cost("gemini-3.8-flash", est, tier="standard", on=on, upper=True) == Decimal("0.011625")


def test_unknown_model_names_the_catalog() -> None:
    with pytest.raises(UnknownModelError, match="gemini-9"):
        request_cost("gemini-9", Usage(text=1), tier="batch")
