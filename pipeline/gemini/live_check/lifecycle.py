"""`models` and `routing`: which ids the service serves (with which token limits), and who answers a
retired id the catalog says is routed to a successor (`response.model_version`)."""

from __future__ import annotations

from functools import partial

from pipeline.account import Usage
from pipeline.catalog import current_models, known_models, model_info, resolve_model_version
from pipeline.gemini.client import GeminiClient
from pipeline.gemini.live_check.calls import SERVED, attempt
from pipeline.gemini.live_check.rows import Row, compared, info
from pipeline.gemini.live_check.target import SMALL_OUTPUT_TOKENS, Planned, Target, generate, probe_task
from pipeline.infer import generation_config, prompt_contents


def routed_models(target: Target) -> list[str]:
    """Retired ids whose requests the catalog says go to a successor (`routed_to`)."""
    return [
        name
        for name in known_models()
        if model_info(name).retired_on(target.today) and model_info(name).routed_to
    ]


def _limits(input_limit: int | None, output_limit: int | None) -> str:
    return " / ".join(f"{n:,}" if n is not None else "-" for n in (input_limit, output_limit))


def check_models(client: GeminiClient, target: Target) -> list[Row]:
    rows: list[Row] = []
    for name in current_models(target.today):
        catalog = model_info(name)
        got = attempt(partial(client.get_model, name), "models.get")
        rows.append(compared("models", name, SERVED, got.label(SERVED), got.error))
        if got.ok and got.value is not None:
            rows.append(
                compared(
                    "models",
                    f"{name} token limits (input / output)",
                    _limits(catalog.input_token_limit, catalog.output_token_limit),
                    _limits(got.value.input_token_limit, got.value.output_token_limit),
                )
            )
    for name in routed_models(target):
        catalog = model_info(name)
        got = attempt(partial(client.get_model, name), "models.get")
        shown = f"served as {got.value.name}" if got.ok and got.value is not None else got.label()
        # models.get of a retired id is not what routing promises (generateContent is): reported only
        rows.append(
            info(
                "models",
                f"{name} (retired since {catalog.shutdown})" if catalog.shutdown else f"{name} (retired)",
                f"routed to {catalog.routed_to}",
                shown,
                got.error,
            )
        )
    return rows


def plan_routing(target: Target) -> list[Planned]:
    task = probe_task()
    prompt = model_info(target.model).rules.tokens.text_tokens(task.prompt)
    return [
        Planned("routing", str(model_info(name).routed_to), Usage(text=prompt, output=SMALL_OUTPUT_TOKENS))
        for name in routed_models(target)
    ]


def check_routing(client: GeminiClient, target: Target) -> list[Row]:
    rows: list[Row] = []
    task = probe_task()
    for name in routed_models(target):
        expected = str(model_info(name).routed_to)
        # built for the id asked for (its family's thinking and resolution rules), as a run would send it
        config = generation_config(
            task, name, media_resolution=target.media_resolution, max_output_tokens=SMALL_OUTPUT_TOKENS
        )
        got = generate(client, name, prompt_contents(task), config)
        if not got.ok or got.value is None:
            rows.append(compared("routing", name, expected, got.label(), got.error))
            continue
        version = got.value.model_version
        status = got.value.model_status
        stage = getattr(getattr(status, "model_stage", None), "value", None)
        detail = f"modelVersion {version!r}" + (f", modelStatus {stage}" if stage else "")
        observed = resolve_model_version(version) or version or "(no modelVersion)"
        rows.append(compared("routing", name, expected, observed, detail))
    return rows
