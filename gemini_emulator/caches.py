"""cachedContents of the Gemini emulator (an OFFLINE TEST DOUBLE): explicit context caches.

create/get/list/patch/delete under `{ver}/cachedContents`. A cache keeps the normalised `contents` and
`systemInstruction` of its create request and their tokens by modality (billed like a prompt); below
the model's minimum (its `min_cache_tokens` in pipeline.catalog, or EmulatorConfig.cache_min_tokens)
create answers 400, and so does a model without explicit caching (`min_cache_tokens` null or a family
with `explicit_cache` false: Gemini 4 caches implicitly only). A cache belongs to the model that
answers its id (see lifecycle.py). A generateContent with `cachedContent` prepends the cache to its
prompt: promptTokenCount includes the cached tokens, cachedContentTokenCount / cacheTokensDetails
report them. A missing or
expired cache answers 403 PERMISSION_DENIED "CachedContent not found (or permission denied)" (how the
API reports an unknown cache; unconfirmed for an expired one).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from pipeline.catalog import model_info

from .generate import Resources, bill_prompt, parse_request
from .wire import ApiError, Json, bad_request, normalise, parse_duration, parse_ts, ts

DEFAULT_TTL_S = 3600.0


def min_tokens(requested: str, model: str, override: int | None) -> int:
    """The smallest cache `model` accepts; 400 where it has no explicit caching at all."""
    info = model_info(model)
    if not info.rules.explicit_cache or info.min_cache_tokens is None:
        raise bad_request(f"explicit context caching is not supported for models/{requested}")
    return override if override is not None else info.min_cache_tokens


def _gone() -> ApiError:
    return ApiError(403, "PERMISSION_DENIED", "CachedContent not found (or permission denied)")


@dataclass
class Cache:
    id: str
    model: str  # the model that answers for it
    requested: str  # the id it was created with (what `model` shows)
    body: Json
    tokens: dict[str, int]
    expire: float
    display_name: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    @property
    def name(self) -> str:
        return f"cachedContents/{self.id}"


class CacheStore:
    def __init__(self, min_tokens_override: int | None = None) -> None:
        self.min_override = min_tokens_override
        self._caches: dict[str, Cache] = {}
        self._lock = threading.Lock()
        self.created = 0

    def create(self, body: Json | None, *, version: str, res: Resources | None) -> Json:
        body = normalise(body or {})
        if not body.get("model"):
            raise bad_request("* CreateCachedContentRequest.cached_content.model: model is required")
        res = res or Resources()
        served = res.models.serve(str(body["model"]), version, "createCachedContent")
        need = min_tokens(served.requested, served.model, self.min_override)
        contents = body.get("contents") or []
        system = body.get("systemInstruction")
        if not contents and not system:
            raise bad_request("* CreateCachedContentRequest.cached_content: contents must not be empty")
        probe = {
            "contents": contents or [system],
            **({"systemInstruction": system} if contents and system else {}),
        }
        tokens = bill_prompt(parse_request(served, probe, res=res))
        total = sum(tokens.values())
        if total < need:
            raise bad_request(
                f"Cached content is too small. total_token_count={total}, min_total_token_count={need}"
            )
        cache = Cache(
            secrets.token_hex(8),
            served.model,
            served.requested,
            {"contents": contents, **({"systemInstruction": system} if system else {})},
            tokens,
            self._expiry(body, DEFAULT_TTL_S),
            str(body.get("displayName") or ""),
        )
        with self._lock:
            self._caches[cache.id] = cache
            self.created += 1
        return self.render(cache)

    @staticmethod
    def _expiry(body: Json, default: float | None) -> float:
        if body.get("ttl") is not None:
            ttl = parse_duration(body["ttl"], "cached_content.ttl")
            if ttl <= 0:
                raise bad_request("* cached_content.ttl: ttl must be positive")
            return time.time() + ttl
        if body.get("expireTime") is not None:
            return parse_ts(body["expireTime"])
        if default is None:
            raise bad_request("* UpdateCachedContentRequest: ttl or expire_time is required")
        return time.time() + default

    def _get(self, cache_id: str) -> Cache:
        cache_id = cache_id.removeprefix("cachedContents/")
        with self._lock:
            now = time.time()
            for cid in [cid for cid, c in self._caches.items() if c.expire <= now]:
                del self._caches[cid]
            cache = self._caches.get(cache_id)
        if cache is None:
            raise _gone()
        return cache

    def get(self, cache_id: str) -> Json:
        return self.render(self._get(cache_id))

    def update(self, cache_id: str, body: Json | None) -> Json:
        cache = self._get(cache_id)
        cache.expire = self._expiry(normalise(body or {}), None)
        cache.updated = time.time()
        return self.render(cache)

    def delete(self, cache_id: str) -> Json:
        cache = self._get(cache_id)
        with self._lock:
            self._caches.pop(cache.id, None)
        return {}

    def list(self, page_size: int = 50, page_token: str | None = None) -> Json:
        with self._lock:
            caches = sorted(self._caches.values(), key=lambda c: c.created, reverse=True)
        caches = [c for c in caches if c.expire > time.time()]
        start = int(page_token) if page_token and page_token.isdigit() else 0
        size = max(1, min(page_size or 50, 1000))
        out: Json = {"cachedContents": [self.render(c) for c in caches[start : start + size]]}
        if start + size < len(caches):
            out["nextPageToken"] = str(start + size)
        return out

    def lookup(self, name: str, model: str) -> tuple[Json, dict[str, int]]:
        """For generateContent: the cached body and its tokens; the model must be the cache's."""
        cache = self._get(name)
        if cache.model != model:
            raise bad_request(
                f"Model used by GenerateContent request (models/{model}) and CachedContent "
                f"(models/{cache.requested}) has to be the same."
            )
        return cache.body, dict(cache.tokens)

    def usage(self) -> Json:
        with self._lock:
            live = [c for c in self._caches.values() if c.expire > time.time()]
        return {
            "count": len(live),
            "created": self.created,
            "names": [c.name for c in live],
            "tokens": sum(sum(c.tokens.values()) for c in live),
        }

    def clear(self) -> None:
        with self._lock:
            self._caches.clear()
            self.created = 0

    def render(self, cache: Cache) -> Json:
        out = {
            "name": cache.name,
            "model": f"models/{cache.requested}",
            "createTime": ts(cache.created),
            "updateTime": ts(cache.updated),
            "expireTime": ts(cache.expire),
            "usageMetadata": {"totalTokenCount": sum(cache.tokens.values())},
        }
        if cache.display_name:
            out["displayName"] = cache.display_name
        return out
