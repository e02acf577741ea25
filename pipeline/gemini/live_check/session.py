"""A live check run: the checks asked for, the media they need, what they will cost, and their rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pipeline.account import cache_storage_cost, request_cost
from pipeline.catalog import NoPriceError
from pipeline.gemini.client import GeminiClient
from pipeline.gemini.live_check.cache import check_cache, plan_cache
from pipeline.gemini.live_check.generation import check_sampling, check_thinking, plan_sampling, plan_thinking
from pipeline.gemini.live_check.lifecycle import check_models, check_routing, plan_routing
from pipeline.gemini.live_check.media import MediaSet, build_media
from pipeline.gemini.live_check.rows import Row
from pipeline.gemini.live_check.target import Planned, Target
from pipeline.gemini.live_check.tokens import check_tokens, plan_tokens

CHECKS = ("models", "tokens", "thinking", "routing", "sampling", "cache")


@dataclass(frozen=True)
class CostEstimate:
    usd: Decimal  # the requests the catalog expects to be billed, each answer at its output cap
    requests: int  # requests sent, models.get and cache deletes aside
    unpriced: tuple[str, ...] = ()  # models prices.json has no price for today (left out of `usd`)


class LiveCheck:
    """The chosen checks for one target. Media for `tokens` are made under `workdir` up front, so the
    cost estimate counts their real durations."""

    def __init__(self, target: Target, checks: list[str] | tuple[str, ...], workdir: Path) -> None:
        unknown = sorted(set(checks) - set(CHECKS))
        if unknown:
            raise ValueError(f"unknown check(s) {', '.join(unknown)}: choose from {', '.join(CHECKS)}")
        self.target = target
        self.checks = [name for name in CHECKS if name in checks]  # always in the documented order
        self.media: MediaSet | None = build_media(workdir) if "tokens" in self.checks else None

    def planned(self) -> list[Planned]:
        plans: dict[str, Callable[[], list[Planned]]] = {
            "tokens": lambda: plan_tokens(self.target, self._media()),
            "thinking": lambda: plan_thinking(self.target),
            "routing": lambda: plan_routing(self.target),
            "sampling": lambda: plan_sampling(self.target),
            "cache": lambda: plan_cache(self.target),
        }
        return [p for name in self.checks if name in plans for p in plans[name]()]

    def estimated_cost(self) -> CostEstimate:
        total, unpriced = Decimal(0), set()
        planned = self.planned()
        for plan in planned:
            if not plan.billed:
                continue
            try:
                total += request_cost(plan.billed_model, plan.usage, tier="standard", on=self.target.today)[0]
                if plan.cache_seconds:
                    total += cache_storage_cost(
                        plan.billed_model, plan.usage.text, plan.cache_seconds, on=self.target.today
                    )[0]
            except NoPriceError:
                unpriced.add(plan.billed_model)
        return CostEstimate(total, len(planned), tuple(sorted(unpriced)))

    def run_check(self, client: GeminiClient, name: str) -> list[Row]:
        runs: dict[str, Callable[[], list[Row]]] = {
            "models": lambda: check_models(client, self.target),
            "tokens": lambda: check_tokens(client, self.target, self._media()),
            "thinking": lambda: check_thinking(client, self.target),
            "routing": lambda: check_routing(client, self.target),
            "sampling": lambda: check_sampling(client, self.target),
            "cache": lambda: check_cache(client, self.target),
        }
        return runs[name]()

    def run(self, client: GeminiClient) -> list[Row]:
        return [row for name in self.checks for row in self.run_check(client, name)]

    def _media(self) -> MediaSet:
        assert self.media is not None, "media are made when the tokens check is chosen"
        return self.media
