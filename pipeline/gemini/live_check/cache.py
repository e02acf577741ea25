"""`cache`: explicit context caches of a text just below and just above the run model's minimum
(`min_cache_tokens`, counted by the catalog's chars-per-token rule), or one of a size every other model
would take where the catalog says the model has no explicit caching. Created caches are deleted at once
(and live 60 s at most if the delete fails)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import partial
from itertools import cycle, islice

from google.genai import types

from pipeline.account import Usage
from pipeline.catalog import model_info, models_catalog
from pipeline.gemini.client import GeminiClient
from pipeline.gemini.live_check.calls import ACCEPTED, attempt, refused
from pipeline.gemini.live_check.rows import Row, compared, info
from pipeline.gemini.live_check.target import Planned, Target, probe_task
from pipeline.infer import prompt_contents

TTL_S = 60
MARGIN = 0.10  # "just" below / above: far enough that the service's own tokenizer lands on the same side
# Common three-letter words and a space: four characters per token in most tokenizers, the catalog's
# text rule, so the service should count about what the catalog counts.
_WORDS = ("cat", "dog", "sun", "red", "box", "map", "pen", "cup", "hat", "key", "sea", "owl")


@dataclass(frozen=True)
class CacheCase:
    tokens: int  # by the catalog's text rule
    accepted: bool
    why: str


def filler(tokens: int, chars_per_token: int) -> str:
    text = " ".join(islice(cycle(_WORDS), tokens * chars_per_token // 4 + 1))
    return text[: tokens * chars_per_token]


def cache_cases(target: Target) -> list[CacheCase]:
    model = model_info(target.model)
    minimum = model.min_cache_tokens
    if not model.rules.explicit_cache or minimum is None:
        largest = max(m.min_cache_tokens or 0 for m in models_catalog().models.values())
        size = math.ceil(largest * (1 + MARGIN))
        return [CacheCase(size, False, "no explicit caching")]
    return [
        CacheCase(math.floor(minimum * (1 - MARGIN)), False, f"below the minimum {minimum:,}"),
        CacheCase(math.ceil(minimum * (1 + MARGIN)), True, f"above the minimum {minimum:,}"),
    ]


def plan_cache(target: Target) -> list[Planned]:
    return [
        Planned("cache", target.model, Usage(text=case.tokens), cache_seconds=TTL_S, billed=case.accepted)
        for case in cache_cases(target)
    ]


def check_cache(client: GeminiClient, target: Target) -> list[Row]:
    model = target.model
    chars = model_info(model).rules.tokens.text_chars_per_token
    rows: list[Row] = []
    for case in cache_cases(target):
        label = f"{model} cache of {case.tokens:,} tokens ({case.why})"
        text = filler(case.tokens, chars)
        config = types.CreateCachedContentConfig(
            contents=prompt_contents(replace(probe_task(), prompt=text)),
            ttl=f"{TTL_S}s",
            display_name="media-pipeline live-check",
        )
        got = attempt(partial(client.create_cache, model, config), "caches.create")
        detail = got.error
        if got.ok and got.value is not None:
            detail = _delete(client, str(got.value.name))
        rows.append(compared("cache", label, ACCEPTED if case.accepted else refused(), got.label(), detail))
        if got.ok and got.value is not None:
            usage = got.value.usage_metadata
            counted = int(usage.total_token_count or 0) if usage else 0
            rows.append(
                info("cache", f"{model} cache tokens as the service counts them", case.tokens, counted)
            )
    return rows


def _delete(client: GeminiClient, name: str) -> str:
    gone = attempt(lambda: client.delete_cache(name), f"caches.delete {name}")
    return "" if gone.ok else f"{gone.error} (it expires after {TTL_S} s)"
