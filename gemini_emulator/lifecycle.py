"""Model lifecycle of the Gemini emulator (an OFFLINE TEST DOUBLE): which model answers a request.

The service decides per model id, on today's date: an id it serves answers itself; an id it routes (a
deprecated or shut-down model whose requests go to a successor) is answered by another model, visible
only in the response's `modelVersion` (and `modelStatus`); an id it no longer serves answers 404 NOT_FOUND
on every method. The emulator takes the lifecycle from pipeline.catalog (status, shutdown, routed_to)
and the routing from EmulatorConfig:

- `routes` {"requested": "served"}: always routed (a test can make any id answer as another model);
- `route_retired`: a model the catalog marks retired today that names `routed_to` is routed there;
  without it a retired model answers 404, like an id the service dropped;
- `unserved` [ids]: 404 everywhere, and absent from models.list, whatever the catalog says.

A routed request is validated as the requested model validates it (the caller wrote it for that
model), and billed, limited and thought through by the model that answers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pipeline.catalog import ModelInfo, UnknownModelError, known_models, model_info, utc_today

from .wire import ApiError, Json

# What the service answers a model with a lifecycle warning: SDK `ModelStage` values.
STAGE_DEPRECATED, STAGE_LEGACY, STAGE_RETIRED = "DEPRECATED", "LEGACY", "RETIRED"


def not_served(name: str, version: str, method: str) -> ApiError:
    """The API's answer for a model id it does not serve (unknown, shut down or dropped)."""
    return ApiError(
        404,
        "NOT_FOUND",
        f"models/{name} is not found for API version {version}, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods.",
    )


def _known(name: str) -> ModelInfo | None:
    try:
        return model_info(name)
    except UnknownModelError:
        return None


@dataclass(frozen=True)
class Served:
    """One request's model: the id it named and the catalog model that answers it."""

    requested: str
    model: str

    @property
    def routed(self) -> bool:
        return self.requested != self.model

    @property
    def info(self) -> ModelInfo:
        """The answering model: token rules, limits, thinking, caching."""
        return model_info(self.model)

    @property
    def asked(self) -> ModelInfo:
        """The model the request was written for (validation), or the answering one for an unknown id."""
        return _known(self.requested) or self.info


class ModelRouter:
    def __init__(
        self,
        routes: dict[str, str] | None = None,
        route_retired: bool = False,
        unserved: list[str] | None = None,
        today: date | None = None,
    ) -> None:
        self.routes = {
            k.removeprefix("models/"): v.removeprefix("models/") for k, v in (routes or {}).items()
        }
        bad = sorted(v for v in self.routes.values() if _known(v) is None)
        if bad:
            raise ValueError(f"emulator routes must end at catalog models; unknown: {bad}")
        self.route_retired = route_retired
        self.unserved = {m.removeprefix("models/") for m in unserved or []}
        self._today = today

    def today(self) -> date:
        return self._today or utc_today()

    def serve(self, model: str, version: str = "v1beta", method: str = "generateContent") -> Served:
        """The model that answers `model` today, or 404 NOT_FOUND as the API answers an unserved id."""
        name = model.removeprefix("models/")
        target = self._target(name)
        if target is None or target in self.unserved:
            raise not_served(name, version, method)
        return Served(name, target)

    def _target(self, name: str) -> str | None:
        if name in self.unserved:
            return None
        if name in self.routes:
            return self.routes[name]
        info = _known(name)
        if info is None:
            return None
        if not info.retired_on(self.today()):
            return name
        if self.route_retired and info.routed_to and not model_info(info.routed_to).retired_on(self.today()):
            return info.routed_to
        return None

    def served_ids(self) -> list[str]:
        """Every id models.list shows: served catalog models and routed ids (the live API lists those)."""
        ids = [*known_models(), *(k for k in self.routes if _known(k) is None)]
        return [name for name in ids if self._target(name) not in (None, *self.unserved)]

    def model_status(self, served: Served) -> Json | None:
        """`modelStatus` of a generateContent answer: the requested model's lifecycle stage, if notable."""
        info = _known(served.requested)
        if info is None:
            return None
        today = self.today()
        if info.retired_on(today):  # only reached when routed: an unrouted retired id answered 404
            status = {
                "modelStage": STAGE_RETIRED,
                "message": f"models/{info.name} was shut down on {info.shutdown}; this request was served "
                f"by models/{served.model}.",
            }
        elif (warning := info.lifecycle_warning(today)) is not None:
            stage = STAGE_DEPRECATED if info.status == "deprecated" else STAGE_LEGACY
            status = {"modelStage": stage, "message": warning}
        else:
            return None
        if info.shutdown is not None:
            status["retirementTime"] = f"{info.shutdown.isoformat()}T00:00:00Z"
        return status

    def model_json(self, served: Served) -> Json:
        """The SDK's `Model` wire shape (models.get / models.list) for one served id."""
        info = served.info
        rules = info.rules
        methods = ["generateContent", "countTokens", "batchGenerateContent"]
        if rules.explicit_cache and info.min_cache_tokens is not None:
            methods.append("createCachedContent")
        thinks = bool(info.thinking_levels) or bool(info.thinking_budget and info.thinking_budget.max > 0)
        via = f", served by {served.model}" if served.routed else ""
        return {
            "name": f"models/{served.requested}",
            "version": "001",
            "displayName": f"{served.requested} (emulated{via})",
            "description": "Gemini emulator model: an offline test double, not the real model.",
            "inputTokenLimit": info.input_token_limit,
            "outputTokenLimit": info.output_token_limit,
            "supportedGenerationMethods": methods,
            "thinking": thinks,
        }

    def listing(self) -> Json:
        return {"models": [self.model_json(self.serve(name)) for name in self.served_ids()]}
