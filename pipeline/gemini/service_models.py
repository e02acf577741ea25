"""Before anything is paid: does the service serve every model the run will use?

The catalog knows lifecycles as they were read on its date; the service knows today's. `models.get`
for each model answers both: a model the service no longer serves stops the run (naming the catalog's
replacement), one within 30 days of its shutdown date only warns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pipeline.catalog import default_run_model, usable_model
from pipeline.errors import GeminiRequestError, ModelNotServedError
from pipeline.gemini.client import GeminiClient


def check_models(client: GeminiClient, models: Iterable[str], on: date) -> list[str]:
    """Ask the service for each model; returns lifecycle warnings, raises ModelNotServedError."""
    warnings: list[str] = []
    for model in dict.fromkeys(models):
        info = usable_model(model, on)  # a model the catalog knows as shut down never reaches the service
        try:
            client.get_model(model)
        except (ModelNotServedError, GeminiRequestError) as err:
            instead = info.replacement or default_run_model()
            raise ModelNotServedError(
                f"Gemini does not serve {model} ({err}); nothing was paid. Use {instead} "
                "(--model / MEDIA_PIPELINE_MODEL), and update pipeline/catalog/models.json if its "
                "lifecycle changed",
                model=model,
                replacement=instead,
            ) from err
        if (warning := info.lifecycle_warning(on)) is not None:
            warnings.append(warning)
    return warnings
