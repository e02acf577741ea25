"""Dated facts about Gemini: the one versioned source of truth (models.json, prices.json).

The planner (estimates), the cost stage (billing), the Gemini client (what each request may carry) and
the emulator (usage metadata) all read these tables. Every entry names its sources and the date they
were read; a table past its `review_by` date makes `plan` and the run summary warn.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import cache
from importlib.resources import files

from pipeline.catalog.model_catalog import (
    DEFAULT_THINKING,
    SHUTDOWN_WARNING_DAYS,
    THINKING_ORDER,
    Family,
    ModelCatalog,
    ModelInfo,
    RetiredModelError,
    Source,
    ThinkingChoice,
    TokenRules,
    TransportLimits,
    UnknownModelError,
)
from pipeline.catalog.price_catalog import NoPriceError, PriceTable, PriceWindow, Rates, ServiceTier

# A promotion ending within this many days is worth a line in the plan (the bill will change).
PRICE_CHANGE_WARNING_DAYS = 30


def utc_today() -> date:
    return datetime.now(UTC).date()


@cache
def models_catalog() -> ModelCatalog:
    return ModelCatalog.model_validate(json.loads(files(__package__).joinpath("models.json").read_text()))


@cache
def prices_catalog() -> PriceTable:
    return PriceTable.model_validate(json.loads(files(__package__).joinpath("prices.json").read_text()))


def known_models() -> list[str]:
    """Every model id in the catalog, retired ones included."""
    return sorted(models_catalog().models)


def current_models(on: date | None = None) -> list[str]:
    """Model ids a run can use on `on` (not shut down)."""
    on = on or utc_today()
    return sorted(n for n, m in models_catalog().models.items() if not m.retired_on(on))


def model_info(model: str) -> ModelInfo:
    return models_catalog().get(model)


model_limits = model_info  # limits (input/output tokens, cache minimum) are fields of the model's entry


def usable_model(model: str, on: date | None = None) -> ModelInfo:
    """The model's entry; UnknownModelError / RetiredModelError (both ConfigError) naming the fix."""
    return models_catalog().usable(model, on or utc_today())


def default_run_model() -> str:
    return models_catalog().defaults["run_model"]


def token_rules(model: str) -> TokenRules:
    return model_info(model).rules.tokens


def transport_limits() -> TransportLimits:
    return models_catalog().transport


def api_version() -> str:
    return str(models_catalog().api_version["value"])


def resolve_model_version(model_version: str | None) -> str | None:
    return models_catalog().resolve_version(model_version)


def price_table() -> PriceTable:
    """The current price table (its windows hold past prices too)."""
    return prices_catalog()


def model_price(model: str, on: date | None = None) -> tuple[PriceTable, PriceWindow]:
    table = prices_catalog()
    return table, table.window(model, on or utc_today())


def catalog_warnings(models: list[str], on: date | None = None) -> list[str]:
    """What a user should hear before paying: tables past their review date, models deprecated or near
    their shutdown, and price windows (promotions) ending soon."""
    on = on or utc_today()
    out: list[str] = []
    for name, path, review_by in (
        ("model table", "pipeline/catalog/models.json", models_catalog().review_by),
        ("price table", "pipeline/catalog/prices.json", prices_catalog().review_by),
    ):
        if on > review_by:
            out.append(
                f"the {name} ({path}) was due for review on {review_by}: models and prices may have changed "
                "since; re-read its sources and bump its version"
            )
    table = prices_catalog()
    for model in dict.fromkeys(models):
        info = models_catalog().get(model)
        if (warning := info.lifecycle_warning(on)) is not None:
            out.append(warning)
        window = table.ending_soon(model, on, PRICE_CHANGE_WARNING_DAYS)
        if window is not None:
            out.append(
                f"the price of {model} in force now ends on {window.until}: {_next_price(model, window)}"
            )
    return out


def _next_price(model: str, window: PriceWindow) -> str:
    following = [w for w in prices_catalog().models[model] if w.from_ > window.from_]
    if not following:
        return "no later price is known (pipeline/catalog/prices.json)"
    nxt = min(following, key=lambda w: w.from_)
    return f"from {nxt.from_} input ${nxt.input:g}/M, output ${nxt.output:g}/M (now ${window.input:g} / ${window.output:g})"


__all__ = [
    "DEFAULT_THINKING",
    "PRICE_CHANGE_WARNING_DAYS",
    "SHUTDOWN_WARNING_DAYS",
    "THINKING_ORDER",
    "Family",
    "ModelCatalog",
    "ModelInfo",
    "NoPriceError",
    "PriceTable",
    "PriceWindow",
    "Rates",
    "RetiredModelError",
    "ServiceTier",
    "Source",
    "ThinkingChoice",
    "TokenRules",
    "TransportLimits",
    "UnknownModelError",
    "api_version",
    "catalog_warnings",
    "current_models",
    "default_run_model",
    "known_models",
    "model_info",
    "model_limits",
    "model_price",
    "price_table",
    "prices_catalog",
    "models_catalog",
    "resolve_model_version",
    "token_rules",
    "transport_limits",
    "usable_model",
    "utc_today",
]
