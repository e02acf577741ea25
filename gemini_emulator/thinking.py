"""Thinking in the Gemini emulator (an OFFLINE TEST DOUBLE): what a thinkingConfig may say, how many
thought tokens a request spends, and how thoughts and the answer share maxOutputTokens.

Everything comes from the model's catalog entry (pipeline.catalog): level families (3.x, 4.x) take
`thinkingLevel` (one of the model's `thinking_levels`), budget families (2.5) take `thinkingBudget`
(-1 dynamic, 0 off where the model can switch thinking off, else within its min..max). Anything else
is a 400 INVALID_ARGUMENT, as is sending both. Without a thinkingConfig the model thinks at its
`default_thinking` level (2.5 "DYNAMIC": its largest level; 2.5 MINIMAL maps to budget 0: no thinking).

Thoughts are the level's `typical_thoughts` (on budget families capped at the budget) times a factor
in [0.5, 1.5) drawn from a hash of the request: the same request always thinks the same, another
request (other media, other prompt) differently. They are billed as `thoughtsTokenCount`, included in
totalTokenCount, never returned as parts, and count against maxOutputTokens before the answer does.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.catalog import THINKING_ORDER, ModelInfo, TokenRules

from .wire import Json, bad_request

_UNSET_LEVELS = ("", "THINKING_LEVEL_UNSPECIFIED")
_DYNAMIC = -1  # thinkingBudget -1: the model decides (2.5)


@dataclass(frozen=True)
class ThinkingAsk:
    """What the request asked for (validated): a level, a budget, or nothing (the model's default)."""

    level: str | None = None
    budget: int | None = None


def read_thinking(cfg: Json, info: ModelInfo) -> ThinkingAsk:
    """generationConfig.thinkingConfig, checked against the model the request was written for."""
    tc = cfg.get("thinkingConfig")
    if tc is None:
        return ThinkingAsk()
    if not isinstance(tc, dict):
        raise bad_request("Invalid JSON payload: generation_config.thinking_config must be an object")
    level, budget = tc.get("thinkingLevel"), tc.get("thinkingBudget")
    if isinstance(level, str) and level.upper() in _UNSET_LEVELS:
        level = None
    if level is not None and budget is not None:
        raise bad_request("thinking_level and thinking_budget cannot both be set in thinking_config.")
    if level is not None:
        return ThinkingAsk(level=_check_level(str(level).upper(), info))
    if budget is not None:
        return ThinkingAsk(budget=_check_budget(budget, info))
    return ThinkingAsk()


def allowed_levels(info: ModelInfo) -> list[str]:
    family = info.rules.thinking.levels
    return [lv for lv in THINKING_ORDER if lv in family and lv in (info.thinking_levels or family)]


def _check_level(level: str, info: ModelInfo) -> str:
    if info.rules.thinking.control != "level":
        raise bad_request(
            f"thinking_level is not supported for models/{info.name}: this model takes thinking_budget."
        )
    if level not in THINKING_ORDER:
        raise bad_request(
            "Invalid value at 'generation_config.thinking_config.thinking_level' (ThinkingLevel), "
            f'"{level}"'
        )
    allowed = allowed_levels(info)
    if level not in allowed:
        raise bad_request(
            f"Thinking level {level} is not supported for models/{info.name}. "
            f"Supported thinking levels: {', '.join(allowed)}."
        )
    return level


def _check_budget(budget: object, info: ModelInfo) -> int:
    if info.rules.thinking.control != "budget":
        raise bad_request(
            f"thinking_budget is not supported for models/{info.name}: use thinking_level "
            f"({', '.join(allowed_levels(info))})."
        )
    if isinstance(budget, bool) or not isinstance(budget, int | float) or int(budget) != budget:
        raise bad_request(
            f"Invalid value at 'generation_config.thinking_config.thinking_budget' (TYPE_INT32), {budget!r}"
        )
    value = int(budget)
    limits = info.thinking_budget
    lo, hi, can_disable = (limits.min, limits.max, limits.can_disable) if limits else (0, 0, True)
    if value == _DYNAMIC or (value == 0 and can_disable) or lo <= value <= hi:
        return value
    off = ", 0 (thinking off)" if can_disable else ""
    raise bad_request(
        f"The thinking budget {value} is invalid for models/{info.name}: use -1 (dynamic){off} "
        f"or a budget from {lo} to {hi}."
    )


def typical_thoughts(info: ModelInfo, ask: ThinkingAsk) -> int:
    """Thought tokens the answering model typically spends on this ask (the catalog's figure)."""
    rules = info.rules.thinking
    if rules.control == "level":
        allowed = allowed_levels(info)
        default = info.default_thinking.upper()
        level = ask.level if ask.level in allowed else (default if default in allowed else allowed[-1])
        return rules.levels[level].typical_thoughts
    known = [lv for lv in THINKING_ORDER if lv in rules.levels]
    budget = ask.budget
    if budget is None:  # nothing sent, or a level sent to an id routed to a budget model
        wanted = ask.level or info.default_thinking.upper()
        budget = rules.levels[wanted].budget if wanted in rules.levels else _DYNAMIC
        budget = _DYNAMIC if budget is None else budget
    limits = info.thinking_budget
    if budget == _DYNAMIC:
        return min(rules.levels[known[-1]].typical_thoughts, limits.max if limits else 0)
    if budget == 0:
        if limits is None or limits.can_disable:
            return 0
        budget = limits.min  # a model that cannot stop thinking thinks up to its minimum budget
    # The smallest level whose budget covers the asked one describes how much the model will think.
    level = next((lv for lv in known if (rules.levels[lv].budget or 0) >= budget), known[-1])
    return min(rules.levels[level].typical_thoughts, budget)


def thoughts_for(typical: int, fingerprint: str) -> int:
    """typical x a factor in [0.5, 1.5) from the request's hash: deterministic per request."""
    factor = 0.5 + int(fingerprint[:8], 16) / 2**32
    return int(typical * factor)


def output_limit(cfg: Json, info: ModelInfo) -> int:
    """maxOutputTokens (thoughts + answer), capped at the model's output token limit."""
    asked = cfg.get("maxOutputTokens")
    return min(int(asked), info.output_token_limit) if asked else info.output_token_limit


@dataclass(frozen=True)
class Output:
    text: str | None  # None: nothing left for an answer
    answer_tokens: int
    thoughts: int  # thought tokens billed
    finish: str


def fit_output(text: str, thoughts: int, limit: int, rules: TokenRules) -> Output:
    """Thoughts first, then the answer, within `limit`: MAX_TOKENS with no text when thinking used it
    all up (still billed), MAX_TOKENS with the answer cut to what is left otherwise."""
    if thoughts >= limit:
        return Output(None, 0, limit, "MAX_TOKENS")
    room = limit - thoughts
    tokens = rules.text_tokens(text)
    if tokens <= room:
        return Output(text, tokens, thoughts, "STOP")
    cut = text[: room * rules.text_chars_per_token]
    return Output(cut, rules.text_tokens(cut), thoughts, "MAX_TOKENS")
