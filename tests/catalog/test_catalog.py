"""The dated catalog: every entry sourced and dated, lifecycles, prices that cover each model's life."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pipeline.catalog import (
    SHUTDOWN_WARNING_DAYS,
    RetiredModelError,
    UnknownModelError,
    catalog_warnings,
    current_models,
    default_run_model,
    model_info,
    models_catalog,
    prices_catalog,
    resolve_model_version,
    usable_model,
)
from pipeline.config import Settings

TODAY = date(2026, 12, 1)


def test_every_entry_names_sources_that_are_listed_with_a_read_date() -> None:
    catalog, prices = models_catalog(), prices_catalog()
    for name, family in catalog.families.items():
        for ref in [*family.sources, *family.thinking.sources, *family.media_url.sources]:
            assert ref in catalog.sources, (name, ref)
    for ref in catalog.transport.sources:
        assert ref in catalog.sources, ("transport", ref)
    for name, info in catalog.models.items():
        assert info.sources and all(ref in catalog.sources for ref in info.sources), name
    for name, windows in prices.models.items():
        for window in windows:
            assert window.sources and all(ref in prices.sources for ref in window.sources), name
    for source in [*catalog.sources.values(), *prices.sources.values()]:
        assert source.read <= TODAY and source.url


def test_every_model_a_user_can_pick_today_is_listed() -> None:
    wanted = {
        "gemini-3.8-flash", "gemini-3.6-flash", "gemini-3.5-flash-lite", "gemini-3.1-flash-lite",
        "gemini-3.1-pro-preview", "gemini-2.5-flash-lite",
    }  # fmt: skip
    assert wanted <= set(current_models(TODAY))
    retired = {
        "gemini-2.5-flash",
        "gemini-2.5-pro",
        "gemini-3.5-flash",
        "gemini-3.7-flash",
        "gemini-3-pro-preview",
    }
    assert not retired & set(current_models(TODAY))
    for name in retired:
        info = model_info(name)
        assert (
            info.shutdown is not None and info.shutdown <= TODAY and info.replacement in current_models(TODAY)
        )


def test_prices_cover_every_model_from_its_release_to_its_shutdown() -> None:
    prices = prices_catalog()
    for name, info in models_catalog().models.items():
        start = info.released or TODAY
        end = (info.shutdown - timedelta(days=1)) if info.shutdown else TODAY + timedelta(days=400)
        day = start
        while day <= end:
            prices.window(name, day)  # raises NoPriceError on a gap
            day += timedelta(days=7)
        prices.window(name, end)


def test_the_default_run_model_is_a_current_ga_flash_model(monkeypatch) -> None:  # noqa: ANN001
    info = model_info(default_run_model())
    assert info.status == "ga" and "flash" in info.name and not info.retired_on(TODAY)
    assert Settings().model == default_run_model()
    monkeypatch.setenv("MEDIA_PIPELINE_MODEL", "")  # docker/.env.example leaves it empty
    assert Settings().model == default_run_model()


def test_a_shut_down_model_is_refused_at_load_naming_its_replacement() -> None:
    with pytest.raises(
        RetiredModelError, match="gemini-2.5-flash was shut down on 2026-12-01.*use gemini-3.5-flash-lite"
    ):
        usable_model("gemini-2.5-flash", TODAY)
    with pytest.raises(ValueError, match="use gemini-3.8-flash"):
        Settings(model="gemini-3.7-flash")
    with pytest.raises(ValueError, match="unknown model 'gemini-9'.*gemini-3.8-flash"):
        Settings(model="gemini-9")
    with pytest.raises(UnknownModelError):
        model_info("gemini-9")


def test_a_model_within_30_days_of_its_shutdown_warns() -> None:
    info = model_info("gemini-3.1-flash-lite")  # shuts down 2027-05-07
    assert info.lifecycle_warning(date(2027, 4, 6)) is None  # 31 days before
    warning = info.lifecycle_warning(date(2027, 4, 7))  # 30 days before
    assert warning is not None and "2027-05-07" in warning and "gemini-3.5-flash-lite" in warning
    assert SHUTDOWN_WARNING_DAYS == 30
    assert "deprecated" in (model_info("gemini-3-flash-preview").lifecycle_warning(TODAY) or "")


def test_tables_past_their_review_date_and_ending_promotions_warn() -> None:
    assert not [w for w in catalog_warnings(["gemini-3.6-flash"], TODAY) if "review" in w]
    late = catalog_warnings(["gemini-3.6-flash"], date(2027, 2, 1))
    assert any("prices.json" in w and "review" in w for w in late)
    assert any("models.json" in w and "review" in w for w in late)
    promo = catalog_warnings(["gemini-3.8-flash"], date(2026, 12, 15))
    assert any("ends on 2026-12-31" in w and "$1.5/M" in w for w in promo)


@pytest.mark.parametrize(
    ("model", "asked", "level", "budget"),
    [
        ("gemini-3.8-flash", "MINIMAL", "LOW", None),  # 3.8 Flash refuses MINIMAL: rounded up
        ("gemini-3.8-flash", "LOW", "LOW", None),
        ("gemini-3.6-flash", "MINIMAL", "MINIMAL", None),
        ("gemini-3.1-pro-preview", "XHIGH", "HIGH", None),  # nothing above HIGH: the highest it takes
        ("gemini-2.5-flash-lite", "MINIMAL", None, 0),  # 2.5 Flash-Lite may switch thinking off
        ("gemini-2.5-flash-lite", "LOW", None, 1024),
        ("gemini-2.5-flash-lite", "HIGH", None, 24576),  # clamped to its 24,576 maximum
    ],
)
def test_a_task_level_maps_onto_what_each_model_takes(model, asked, level, budget) -> None:
    choice = model_info(model).thinking_for(asked)
    assert (choice.level, choice.budget) == (level, budget)


def test_a_response_model_version_resolves_to_its_catalog_model() -> None:
    assert resolve_model_version("gemini-3.8-flash") == "gemini-3.8-flash"
    assert resolve_model_version("models/gemini-3.5-flash-lite-001") == "gemini-3.5-flash-lite"
    assert resolve_model_version("gemini-3.5-flash-preview-05-2026") == "gemini-3.5-flash"
    assert resolve_model_version("gemini-99") is None and resolve_model_version(None) is None


def test_only_3x_families_take_media_by_url() -> None:
    catalog = models_catalog()
    takes_url = {name for name, family in catalog.families.items() if family.media_url.accepted}
    assert takes_url == {"gemini-3"}
    assert catalog.transport.url_request_max_bytes == 100 * 1024 * 1024
    assert catalog.transport.batch_job_expiry_hours == 48
