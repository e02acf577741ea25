"""generateContent / countTokens of the emulator (OFFLINE TEST DOUBLE): validate like the API, then answer.

Shared by the HTTP routes and the batch worker. Requests are first normalised to camelCase keys (the SDK
sends a mix: `inlineData` holding `mime_type`), leaving user-named keys alone (schema property names,
metadata, labels, a whole responseJsonSchema). The request's model id is resolved to the model that
answers it (lifecycle.py); the request is checked as the named model checks it (request_rules.py,
thinking.py) and billed by the answering model's catalog rules: prompt tokens per modality, thought
tokens, and the answer, thoughts and answer sharing maxOutputTokens. A request carrying a
`continuationToken` gets the rest of an answer a `continuation` fault cut (continuation.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.catalog import model_info, transport_limits

from .analysis import MediaDecodeError, MediaFacts, analyse
from .answers import AnswerContext, answer_text
from .continuation import ContinuationStore
from .lifecycle import ModelRouter, Served
from .request_rules import UNSPECIFIED, check_generation_config, part_resolution
from .thinking import ThinkingAsk, fit_output, output_limit, read_thinking, thoughts_for, typical_thoughts
from .url_media import UrlFetcher, is_url
from .usage import MediaPart, prompt_tokens, usage_metadata
from .wire import GRPC_CODES, ApiError, Json, bad_request, decode_b64, normalise

__all__ = ["GRPC_CODES", "ApiError", "Resources", "bad_request", "count_tokens", "generate", "normalise"]

DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
# ------------------------------------------------------------------ parsing and validation


@dataclass
class ParsedRequest:
    served: Served
    texts: list[str] = field(default_factory=list)
    media: list[MediaPart] = field(default_factory=list)
    generation_config: Json = field(default_factory=dict)
    ignored: tuple[str, ...] = ()  # sampling parameters the answering model ignores
    thinking: ThinkingAsk = field(default_factory=ThinkingAsk)
    # fileUri -> sha256 of the bytes it named (a Files API name or a fetched URL): what the media *is*
    file_content: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return self.served.model

    @property
    def facts(self) -> list[MediaFacts]:
        return [m.facts for m in self.media]


FileLookup = Callable[[str], tuple[bytes, str]]  # file URI or name -> (bytes, mime); raises ApiError
FileOwner = Callable[[str], bool]  # whether a fileUri is a Files API file (not an external URL)
CacheLookup = Callable[[str, str], tuple[Json, dict[str, int]]]  # (name, model) -> (body, tokens by modality)


@dataclass
class Resources:
    """What a request may reference or depend on: Files API files, cached contents, which model answers
    which id, issued continuation tokens (sync only)."""

    files: FileLookup | None = None
    owns_file: FileOwner | None = None
    caches: CacheLookup | None = None
    models: ModelRouter = field(default_factory=ModelRouter)
    continuations: ContinuationStore | None = None
    urls: UrlFetcher = field(default_factory=UrlFetcher)  # http(s) fileUris: fetched like the service does


def parse_request(
    served: Served, body: Json, *, raw_size: int | None = None, res: Resources | None = None
) -> ParsedRequest:
    """Validate one (already normalised) GenerateContentRequest and decode its media. The request is
    checked as the model it names checks it; limits are the answering model's."""
    limits = transport_limits()
    if raw_size is not None and raw_size > limits.inline_request_max_bytes:
        raise bad_request(f"Request payload size exceeds the limit: {limits.inline_request_max_bytes} bytes.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise bad_request("* GenerateContentRequest.contents: contents is not specified")
    cfg = body.get("generationConfig") or {}
    if not isinstance(cfg, dict):
        raise bad_request("Invalid JSON payload: generation_config must be an object")
    asked = served.asked
    ignored = check_generation_config(cfg, asked, model_info(served.model))
    req = ParsedRequest(served, generation_config=cfg, ignored=ignored, thinking=read_thinking(cfg, asked))
    default_res = cfg.get("mediaResolution") or UNSPECIFIED
    inline_total = 0
    system = body.get("systemInstruction")
    blocks = [("systemInstruction", system)] if isinstance(system, dict) else []
    blocks += [(f"contents[{i}]", c) for i, c in enumerate(contents)]
    for where, content in blocks:
        if not isinstance(content, dict):
            raise bad_request(f"* GenerateContentRequest.{where}: must be an object")
        if content.get("role") not in (None, "", "user", "model", "function", "system"):
            raise bad_request(f"* GenerateContentRequest.{where}.role: Please use a valid role: user, model.")
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise bad_request(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.")
        for j, part in enumerate(parts):
            inline_total += _parse_part(req, part, f"{where}.parts[{j}]", default_res, res)
    if inline_total > limits.inline_request_max_bytes:
        raise bad_request(f"Request payload size exceeds the limit: {limits.inline_request_max_bytes} bytes.")
    return req


def _accepted_mime(mime: str) -> None:
    if mime not in transport_limits().mime_types:
        raise bad_request(f"Unsupported MIME type: {mime}")


def _parse_part(
    req: ParsedRequest, part: object, where: str, default_res: str, res: Resources | None = None
) -> int:
    if not isinstance(part, dict):
        raise bad_request(f"* GenerateContentRequest.{where}: must be an object")
    present = [k for k in DATA_FIELDS if part.get(k) is not None]
    if len(present) != 1:
        raise bad_request(
            f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have one "
            "initialized field"
        )
    resolution = part_resolution(part, where, default_res, req.served.asked)
    kind = present[0]
    if kind == "text":
        if not isinstance(part["text"], str):
            raise bad_request(f"* GenerateContentRequest.{where}.text: must be a string")
        req.texts.append(part["text"])
        return 0
    if kind == "fileData":
        ref = part["fileData"] or {}
        uri = str(ref.get("fileUri") or "")
        if is_url(uri) and not (res is not None and res.owns_file is not None and res.owns_file(uri)):
            if not model_info(req.served.model).rules.media_url.accepted:
                raise bad_request(f"{req.served.model} does not support media by external URL: {uri}")
            # An external URL (Gemini 3.x fetches public and pre-signed URLs itself): billed by what was
            # fetched, through the same decode path as inline bytes.
            data, served_mime = (res.urls if res is not None else UrlFetcher())(uri)
            req.file_content[uri] = hashlib.sha256(data).hexdigest()
            mime = str(ref.get("mimeType") or served_mime).split(";", 1)[0].strip().lower()
            _accepted_mime(mime)
            _add_media(req, part, where, resolution, data, mime)
            return 0  # fetched bytes do not count toward the request's payload size
        if res is None or res.files is None:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"You do not have permission to access the File {uri} or it may not exist.",
            )
        data, stored_mime = res.files(uri)
        req.file_content[uri] = hashlib.sha256(data).hexdigest()
        mime = str(ref.get("mimeType") or stored_mime).split(";", 1)[0].strip().lower()
        _accepted_mime(mime)
        _add_media(req, part, where, resolution, data, mime)
        return 0  # file bytes do not count toward the inline request size
    if kind != "inlineData":
        return 0
    blob = part["inlineData"] or {}
    mime = str(blob.get("mimeType") or "").split(";", 1)[0].strip().lower()
    if not mime:
        raise bad_request(
            f"* GenerateContentRequest.{where}.inline_data.mime_type: mime_type is not specified"
        )
    _accepted_mime(mime)
    data = decode_b64(blob.get("data"), f"{where}.inline_data.data")
    _add_media(req, part, where, resolution, data, mime)
    return len(data)


def _add_media(req: ParsedRequest, part: Json, where: str, resolution: str, data: bytes, mime: str) -> None:
    meta = part.get("videoMetadata") or {}
    fps = meta.get("fps", transport_limits().video_fps_default)
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise bad_request(f"* GenerateContentRequest.{where}.video_metadata.fps: must be a number") from None
    fps_max = transport_limits().video_fps_max
    if not 0 < fps <= fps_max:
        raise bad_request(f"* GenerateContentRequest.{where}.video_metadata.fps: must be in (0, {fps_max:g}]")
    try:
        facts = analyse(data, mime, fps)
    except MediaDecodeError as exc:
        raise bad_request(f"{exc} ({where}, {mime}, {len(data)} bytes)") from None
    req.media.append(MediaPart(facts=facts, fps=fps, resolution=resolution))


# ------------------------------------------------------------------ answering


@dataclass
class Generated:
    """One answer as sent, plus what it billed (kept apart so faults can rewrite the answer)."""

    response: Json
    prompt_by_modality: dict[str, int]
    output_tokens: int  # answer tokens emitted (candidatesTokenCount)
    model: str = ""  # the model that answered (modelVersion)
    cached_by_modality: dict[str, int] = field(default_factory=dict)
    thoughts: int = 0
    requested: str = ""  # the model id the request named
    ignored: tuple[str, ...] = ()
    fingerprint: str = ""  # hash of the request (model, contents, config), continuation token left out
    follow_up: bool = False  # a continuation hop (content faults leave it alone)

    @property
    def candidate(self) -> Json:
        first: Json = self.response["candidates"][0]
        return first

    @property
    def text(self) -> str | None:
        parts = (self.candidate.get("content") or {}).get("parts") or []
        return parts[0].get("text") if parts else None

    def set_answer(self, text: str | None, finish: str, answer_tokens: int) -> None:
        """Replace the answer (None/empty: a content with no parts, as the API sends it) and re-bill it."""
        cand = self.candidate
        cand["content"] = {"role": "model", "parts": [{"text": text}]} if text else {"role": "model"}
        cand["finishReason"] = finish
        self.output_tokens = answer_tokens
        self.response["usageMetadata"] = usage_metadata(
            self.prompt_by_modality, answer_tokens, self.cached_by_modality, self.thoughts
        )


def bill_prompt(req: ParsedRequest) -> dict[str, int]:
    info = model_info(req.model)
    by = prompt_tokens(info.rules.tokens, req.media, req.texts)
    total, limit = sum(by.values()), info.input_token_limit
    if total > limit:
        raise bad_request(
            f"The input token count ({total}) exceeds the maximum number of tokens allowed ({limit})."
        )
    return by


def with_cache(served: Served, body: Json, res: Resources | None) -> tuple[Json, dict[str, int]]:
    """Prepend a referenced cachedContent's contents/systemInstruction; return its tokens by modality."""
    name = body.get("cachedContent")
    if not name:
        return body, {}
    if res is None or res.caches is None:
        raise ApiError(403, "PERMISSION_DENIED", "CachedContent not found (or permission denied)")
    cached, cached_by = res.caches(str(name), served.model)
    if any(body.get(k) for k in ("systemInstruction", "tools", "toolConfig")):
        raise bad_request(
            "CachedContent can not be used with GenerateContent request setting system_instruction, tools "
            "or tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent "
            "request."
        )
    contents = body.get("contents")
    if isinstance(contents, list) and contents:
        body = {**body, "contents": list(cached.get("contents") or []) + contents}
    if cached.get("systemInstruction"):
        body = {**body, "systemInstruction": cached["systemInstruction"]}
    return body, cached_by


def fingerprint(model: str, body: Json) -> str:
    """What makes two requests 'the same request': the model id and the body, continuation token aside
    (and empty fields: the SDK's continuation hop adds `generationConfig: {}` where the first had none)."""
    same = {k: v for k, v in body.items() if k != "continuationToken" and v not in (None, {}, [])}
    return hashlib.sha256(json.dumps([model, same], sort_keys=True).encode()).hexdigest()


def thinking_seed(model: str, body: Json, file_content: dict[str, str] | None = None) -> str:
    """The request's hash for its thoughts, maxOutputTokens aside: how much a model thinks does not depend
    on the room it is given (so a lower limit truncates the same thinking), nor on where its media lives:
    a file or URL part counts by the content it named (a signed URL differs on every signing, a Files API
    name on every upload; the same media must think alike, as inline bytes always did)."""
    cfg = {k: v for k, v in (body.get("generationConfig") or {}).items() if k != "maxOutputTokens"}
    named = file_content or {}

    def by_content(part: Any) -> Any:
        ref = part.get("fileData") if isinstance(part, dict) else None
        if isinstance(ref, dict) and str(ref.get("fileUri") or "") in named:
            return {**part, "fileData": {**ref, "fileUri": "sha256:" + named[str(ref["fileUri"])]}}
        return part

    contents = [
        {**c, "parts": [by_content(p) for p in c.get("parts") or []]} if isinstance(c, dict) else c
        for c in body.get("contents") or []
    ]
    return fingerprint(model, {**body, "contents": contents, "generationConfig": cfg})


def generate(
    model: str,
    body: Json,
    *,
    version: str = "v1beta",
    raw_size: int | None = None,
    res: Resources | None = None,
) -> Generated:
    res = res or Resources()
    served = res.models.serve(model, version)
    request_hash = fingerprint(served.requested, body)
    rest = None
    if body.get("continuationToken") is not None:
        if res.continuations is None:
            raise bad_request(
                "continuation_token is not supported here (batch requests have no continuation)."
            )
        rest = res.continuations.resume(body["continuationToken"], request_hash, served.model)
    asked = body  # the request as sent: its thinking seed (a cached prompt is not the request's own)
    body, cached_by = with_cache(served, body, res)
    req = parse_request(served, body, raw_size=raw_size, res=res)
    seed = thinking_seed(served.requested, asked, req.file_content)
    by = bill_prompt(req)
    cached_by = {m: min(n, by.get(m, 0)) for m, n in cached_by.items()}
    info = model_info(served.model)
    if rest is None:
        fps = req.media[0].fps if req.media else transport_limits().video_fps_default
        ctx = AnswerContext(req.facts, prompt=" ".join(req.texts), fps=fps)
        text = answer_text(req.generation_config, ctx)
        thoughts = thoughts_for(typical_thoughts(info, req.thinking), seed)
    else:  # a continuation hop: the rest of the answer; the thinking was done (and billed) on the first
        text, thoughts = rest, 0
    out = fit_output(text, thoughts, output_limit(req.generation_config, info), info.rules.tokens)
    response: Json = {"candidates": [{"index": 0}], "modelVersion": served.model}
    if (status := res.models.model_status(served)) is not None:
        response["modelStatus"] = status
    response["responseId"] = secrets.token_urlsafe(12)
    gen = Generated(
        response,
        by,
        0,
        served.model,
        cached_by,
        thoughts=out.thoughts,
        requested=served.requested,
        ignored=req.ignored,
        fingerprint=request_hash,
        follow_up=rest is not None,
    )
    gen.set_answer(out.text, out.finish, out.answer_tokens)
    return gen


def count_tokens(model: str, body: Json, *, version: str = "v1beta", res: Resources | None = None) -> Json:
    res = res or Resources()
    inner = body.get("generateContentRequest")
    if isinstance(inner, dict):
        body = inner
    served = res.models.serve(model, version, "countTokens")
    by = bill_prompt(parse_request(served, body, res=res))
    return {
        "totalTokens": sum(by.values()),
        "promptTokensDetails": [{"modality": m, "tokenCount": n} for m, n in by.items()],
    }
