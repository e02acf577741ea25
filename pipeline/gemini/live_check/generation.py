"""`thinking` and `sampling`: which thinking levels a model accepts (and how much it then thinks), and
what it does with `temperature`. Requests are the pipeline's (generation_config of the one-word task)
with only the field under test changed."""

from __future__ import annotations

from dataclasses import dataclass

from google.genai import types

from pipeline.account import Usage
from pipeline.catalog import THINKING_ORDER, model_info, token_rules
from pipeline.gemini.client import GeminiClient
from pipeline.gemini.live_check.calls import ACCEPTED, refused
from pipeline.gemini.live_check.rows import Row, compared, info
from pipeline.gemini.live_check.target import (
    SMALL_OUTPUT_TOKENS,
    THINKING_OUTPUT_TOKENS,
    Planned,
    Target,
    generate,
    probe_task,
)
from pipeline.infer import generation_config, prompt_contents


@dataclass(frozen=True)
class ThinkingCase:
    model: str
    level: str
    config: types.ThinkingConfig | None  # None: the pipeline never sends this level to this model
    accepted: bool  # what the catalog expects
    typical_thoughts: int
    note: str = ""


def thinking_cases(target: Target) -> list[ThinkingCase]:
    cases: list[ThinkingCase] = []
    for model in target.models:
        catalog = model_info(model)
        rules = catalog.rules.thinking
        for level in THINKING_ORDER:
            if rules.control == "level":
                # The level itself, not thinking_for's rounding: the point is to see what is refused.
                allowed = catalog.thinking_levels or list(rules.levels)
                typical = rules.levels[level].typical_thoughts if level in rules.levels else 0
                config = types.ThinkingConfig(thinking_level=types.ThinkingLevel(level))
                cases.append(ThinkingCase(model, level, config, level in allowed, typical))
                continue
            choice = catalog.thinking_for(level)  # budget families: the budget the pipeline sends
            if choice.effective != level:
                note = f"no budget for {level}: the pipeline sends {choice.effective}'s ({choice.budget})"
                cases.append(ThinkingCase(model, level, None, False, 0, note))
                continue
            config = types.ThinkingConfig(thinking_budget=choice.budget)
            cases.append(
                ThinkingCase(model, level, config, True, choice.typical_thoughts, f"budget {choice.budget}")
            )
    return cases


def plan_thinking(target: Target) -> list[Planned]:
    text = token_rules(target.model).text_tokens(probe_task().prompt)
    return [
        Planned("thinking", case.model, Usage(text=text, output=THINKING_OUTPUT_TOKENS), billed=case.accepted)
        for case in thinking_cases(target)
        if case.config is not None
    ]


def check_thinking(client: GeminiClient, target: Target) -> list[Row]:
    task = probe_task()
    rows: list[Row] = []
    for case in thinking_cases(target):
        label = f"{case.model} {case.level}" + (f" ({case.note})" if case.note else "")
        if case.config is None:
            rows.append(info("thinking", label, "not sent", "not sent"))
            continue
        config = generation_config(
            task,
            case.model,
            media_resolution=target.media_resolution,
            max_output_tokens=THINKING_OUTPUT_TOKENS,
        )
        config.thinking_config = case.config
        got = generate(client, case.model, prompt_contents(task), config)
        expected = ACCEPTED if case.accepted else refused()
        rows.append(compared("thinking", label, expected, got.label(), got.error))
        if got.ok and got.value is not None:
            thoughts = int((got.value.usage_metadata and got.value.usage_metadata.thoughts_token_count) or 0)
            capped = thoughts >= THINKING_OUTPUT_TOKENS
            rows.append(
                info(
                    "thinking",
                    f"{case.model} {case.level}: thought tokens (typical, an assumption)",
                    case.typical_thoughts,
                    thoughts,
                    f"reached the cap (max_output_tokens {THINKING_OUTPUT_TOKENS})" if capped else "",
                )
            )
    return rows


def _temperature_rule(target: Target) -> str:
    return model_info(target.model).rules.sampling.get("temperature", "supported")


def plan_sampling(target: Target) -> list[Planned]:
    text = token_rules(target.model).text_tokens(probe_task().prompt)
    billed = _temperature_rule(target) != "rejected"
    return [Planned("sampling", target.model, Usage(text=text, output=SMALL_OUTPUT_TOKENS), billed=billed)]


def check_sampling(client: GeminiClient, target: Target) -> list[Row]:
    task, model, rule = probe_task(), target.model, _temperature_rule(target)
    config = generation_config(
        task, model, media_resolution=target.media_resolution, max_output_tokens=SMALL_OUTPUT_TOKENS
    )
    config.temperature = 0.0
    got = generate(client, model, prompt_contents(task), config)
    # supported and ignored look alike from outside (both answer 200): only a refusal is visible
    expected = refused() if rule == "rejected" else ACCEPTED
    return [
        compared("sampling", f"{model} temperature=0.0 (catalog: {rule})", expected, got.label(), got.error)
    ]
