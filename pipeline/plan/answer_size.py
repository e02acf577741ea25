"""How many answer and thought tokens a request will be billed, before it is sent.

Prompt tokens follow from the catalog's rules; what the model writes and thinks does not. Each request is
one of a few kinds (an image, a video chunk, a split video's picture or sound, an audio chunk) and its
answer grows with the media it carries (time-ranged segments). Per (model, kind, thinking level), the
model is `tokens = base + per_second x media seconds`, fitted to earlier billed requests of the same task
version (pipeline.plan.history), with an upper bound at the 95th percentile of what was billed. With
no history the task's documented prior (`Task.answer_prior`) and the catalog's typical thought tokens per
level stand in (`source="prior"`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.catalog import ThinkingChoice
from pipeline.tasks import AnswerPrior

RequestKind = Literal["image", "video", "picture", "sound", "audio"]
MIN_HISTORY = 5  # fewer billed requests of a kind than this: the prior is a better guess
UPPER_QUANTILE = 0.95
# The prior's thought upper bound: a level's typical thought tokens times this (capped by its room).
PRIOR_THOUGHTS_UPPER = 2.5


class SizeRule(BaseModel):
    base: float
    per_second: float = 0.0

    def at(self, seconds: float) -> int:
        return max(0, math.ceil(self.base + self.per_second * max(0.0, seconds)))


class KindSizes(BaseModel):
    """Answer and thought tokens of one kind of request to one model, expected and upper bound."""

    output: SizeRule
    output_max: SizeRule
    thoughts: SizeRule
    thoughts_max: SizeRule
    requests: int = 0  # billed requests the rules were fitted on (0: the prior)


@dataclass(frozen=True)
class HistoryRow:
    """One billed first attempt from the `requests` table."""

    model: str
    kind: RequestKind
    thinking: str  # the effective thinking level it was sent with
    seconds: float
    output_tokens: int
    thought_tokens: int
    billed_model: str | None = None  # the model that answered (the service's routing)


@dataclass(frozen=True)
class RequestSizes:
    output: int
    thoughts: int
    output_max: int
    thoughts_max: int


class AnswerSizeModel(BaseModel):
    """Expected and upper-bound answer/thought tokens per request, learned or assumed."""

    prior: AnswerPrior = Field(default_factory=AnswerPrior)
    fitted: dict[str, KindSizes] = Field(default_factory=dict)  # "model|kind|thinking" -> sizes
    # model asked -> the model that answered most of its recent requests, where that is another one
    answered_by: dict[str, str] = Field(default_factory=dict)
    described: str = "prior: no billed requests of this task version yet"

    model_config = {"arbitrary_types_allowed": True}

    @staticmethod
    def key(model: str, kind: str, thinking: str) -> str:
        return f"{model}|{kind}|{thinking}"

    def source_of(self, model: str, kind: RequestKind, thinking: ThinkingChoice) -> str:
        fitted = self.fitted.get(self.key(model, kind, thinking.effective))
        return f"history ({fitted.requests} requests)" if fitted else "prior"

    def sizes(
        self, model: str, kind: RequestKind, seconds: float, thinking: ThinkingChoice, max_output_tokens: int
    ) -> RequestSizes:
        """One request's expected and upper-bound tokens, never above what max_output_tokens allows."""
        fitted = self.fitted.get(self.key(model, kind, thinking.effective))
        if fitted is None:
            fitted = self._prior(kind, thinking)
        thoughts = min(fitted.thoughts.at(seconds), max_output_tokens)
        output = min(fitted.output.at(seconds), max_output_tokens - thoughts)
        thoughts_max = min(max(fitted.thoughts_max.at(seconds), thoughts), max_output_tokens)
        output_max = min(max(fitted.output_max.at(seconds), output), max_output_tokens - thoughts_max)
        return RequestSizes(output, thoughts, output_max, thoughts_max)

    def _prior(self, kind: RequestKind, thinking: ThinkingChoice) -> KindSizes:
        p = self.prior
        if kind == "image":
            output = SizeRule(base=p.image_tokens)
        else:
            output = SizeRule(base=p.base_tokens, per_second=p.tokens_per_second)
        upper = SizeRule(base=output.base * p.upper_factor, per_second=output.per_second * p.upper_factor)
        typical = thinking.typical_thoughts
        thoughts_max = min(thinking.room, math.ceil(typical * PRIOR_THOUGHTS_UPPER)) if typical else 0
        return KindSizes(
            output=output,
            output_max=upper,
            thoughts=SizeRule(base=typical),
            thoughts_max=SizeRule(base=max(thoughts_max, typical)),
        )


def fit(rows: Iterable[HistoryRow], prior: AnswerPrior, described: str) -> AnswerSizeModel:
    """Fit base + per_second x seconds per (model, kind, thinking) by least squares (slope >= 0), with
    the upper bound shifted by the 95th percentile of the residuals."""
    groups: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in rows:
        groups[AnswerSizeModel.key(row.model, row.kind, row.thinking)].append(row)
    fitted: dict[str, KindSizes] = {}
    for key, group in groups.items():
        if len(group) < MIN_HISTORY:
            continue
        seconds = [r.seconds for r in group]
        out, out_max = _line([float(r.output_tokens) for r in group], seconds)
        thought, thought_max = _line([float(r.thought_tokens) for r in group], seconds)
        fitted[key] = KindSizes(
            output=out, output_max=out_max, thoughts=thought, thoughts_max=thought_max, requests=len(group)
        )
    return AnswerSizeModel(prior=prior, fitted=fitted, answered_by=_routes(rows), described=described)


def _routes(rows: Iterable[HistoryRow]) -> dict[str, str]:
    """Models whose recent requests were mostly answered by another model: the estimate prices them
    at the model that will most likely answer again."""
    answered: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        answered[row.model][row.billed_model or row.model] += 1
    routes = {}
    for model, counts in answered.items():
        top, n = counts.most_common(1)[0]
        if top != model and n * 2 > sum(counts.values()):
            routes[model] = top
    return routes


def _line(values: list[float], seconds: list[float]) -> tuple[SizeRule, SizeRule]:
    n = len(values)
    mean_s, mean_v = sum(seconds) / n, sum(values) / n
    spread = sum((s - mean_s) ** 2 for s in seconds)
    slope = 0.0
    if spread > 1.0:  # media of different lengths: the answer may grow with them
        slope = max(
            0.0, sum((s - mean_s) * (v - mean_v) for s, v in zip(seconds, values, strict=True)) / spread
        )
    base = mean_v - slope * mean_s
    if base < 0:  # a line through the origin fits better than a negative intercept
        slope = sum(v * s for v, s in zip(values, seconds, strict=True)) / max(
            sum(s * s for s in seconds), 1e-9
        )
        base = 0.0
    residuals = sorted(v - (base + slope * s) for v, s in zip(values, seconds, strict=True))
    shift = max(0.0, residuals[min(n - 1, math.ceil(UPPER_QUANTILE * n) - 1)])
    return SizeRule(base=base, per_second=slope), SizeRule(base=base + shift, per_second=slope)
