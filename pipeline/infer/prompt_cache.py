"""Context caching of the task's shared prompt: when the prompt alone is above the model's minimum
cache size, it is cached once per run and every request refers to it, so the prompt is billed at the
cache rate instead of the input rate. Storage is billed per token-hour; the run deletes the cache once
its requests are answered and pays for the time it was held (up to its expiry when the delete fails)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from google.genai import types

from pipeline.catalog import model_info, token_rules
from pipeline.errors import PipelineError
from pipeline.gemini.client import GeminiClient
from pipeline.run.state import PromptCache
from pipeline.tasks import Task

log = logging.getLogger(__name__)


def prompt_is_cacheable(model: str, task: Task) -> bool:
    """Explicit caching exists for the model (not on Gemini 4) and the prompt reaches its minimum."""
    info = model_info(model)
    if not info.rules.explicit_cache or info.min_cache_tokens is None:
        return False
    return token_rules(model).text_tokens(task.prompt) >= info.min_cache_tokens


def prompt_contents(task: Task) -> list[types.Content]:
    return [types.Content(role="user", parts=[types.Part.from_text(text=task.prompt)])]


def create(
    client: GeminiClient, *, model: str, task: Task, ttl_seconds: float, display_name: str
) -> PromptCache:
    cache = client.create_cache(
        model,
        types.CreateCachedContentConfig(
            contents=prompt_contents(task), ttl=f"{int(ttl_seconds)}s", display_name=display_name
        ),
    )
    usage = cache.usage_metadata
    tokens = int(usage.total_token_count or 0) if usage else token_rules(model).text_tokens(task.prompt)
    created = datetime.now(UTC)
    return PromptCache(
        name=str(cache.name),
        tokens=tokens,
        created_at=created,
        expires_at=cache.expire_time or created + timedelta(seconds=ttl_seconds),
    )


def delete(client: GeminiClient, cache: PromptCache) -> PromptCache:
    """Delete the cache. When the service cannot be told, the cache lives (and bills) until it expires:
    that is what is recorded, never an end that did not happen."""
    try:
        client.delete_cache(cache.name)
    except PipelineError as err:
        log.warning("%s; it is billed until it expires at %s", err, cache.expires_at)
        return cache.model_copy(update={"deleted_at": cache.expires_at or datetime.now(UTC)})
    return cache.model_copy(update={"deleted_at": datetime.now(UTC)})
