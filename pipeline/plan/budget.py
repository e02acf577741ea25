"""The budget guard: before anything is paid, the estimate's upper bound against the run's budget."""

from __future__ import annotations

from decimal import Decimal

from pipeline.errors import BudgetExceededError
from pipeline.run.context import Progress
from pipeline.run.state import RunManifest

BUDGET_WARNING_SHARE = Decimal("0.8")


def near_budget(manifest: RunManifest) -> Decimal | None:
    """The share of the budget the estimate's upper bound reaches, when it is at least
    BUDGET_WARNING_SHARE (a run over its budget never gets this far: check_budget stopped it)."""
    if not manifest.budget_usd:
        return None
    share = manifest.estimated_cost_upper_usd / manifest.budget_usd
    return share if share >= BUDGET_WARNING_SHARE else None


def check_budget(manifest: RunManifest, progress: Progress) -> None:
    """The guard uses the estimate's upper bound (every answer and thought at its upper bound), so a
    run it lets through does not pass the budget unless the model writes beyond what it ever has."""
    if manifest.budget_usd is None:
        return
    upper, expected = manifest.estimated_cost_upper_usd, manifest.estimated_cost_usd
    budget = manifest.budget_usd
    biggest = sorted(
        (i for i in manifest.items if i.active), key=lambda i: i.estimated_cost_upper_usd, reverse=True
    )[:3]
    named = ", ".join(f"{i.source.uri} (up to ${i.estimated_cost_upper_usd:.4f})" for i in biggest)
    if upper > budget:
        raise BudgetExceededError(
            f"run {manifest.run_id}: the estimate's upper bound ${upper:.4f} (expected ${expected:.4f}) exceeds "
            f"the budget ${budget:.4f}; nothing was sent. The guard uses the upper bound. Biggest items: {named}. "
            "Raise --budget-usd, lower --max-items, or reduce video fps / chunk size."
        )
    if near_budget(manifest) is not None:
        progress.note(
            f"WARNING: the estimate's upper bound ${upper:.4f} (expected ${expected:.4f}) is "
            f"{upper / budget:.0%} of the ${budget:.4f} budget; biggest: {named}"
        )
