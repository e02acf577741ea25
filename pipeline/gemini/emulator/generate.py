"""generateContent / countTokens of the emulator (OFFLINE TEST DOUBLE): validate like the API, then answer.

Shared by the HTTP routes and the batch worker. Requests are first normalised to camelCase keys (the SDK
sends a mix: `inlineData` holding `mime_type`), leaving user-named keys alone (schema property names,
metadata, labels, a whole responseJsonSchema).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.catalog import UnknownModelError, model_limits, token_rules, transport_limits

from .analysis import MediaDecodeError, MediaFacts, analyse
from .answers import AnswerContext, answer_text
from .usage import MediaPart, prompt_tokens, usage_metadata
from .wire import GRPC_CODES, ApiError, bad_request, normalise

__all__ = ["GRPC_CODES", "ApiError", "Resources", "bad_request", "count_tokens", "generate", "normalise"]

ACCEPTED_MIME = frozenset(
    "image/png image/jpeg image/webp image/heic image/heif "
    "video/mp4 video/mpeg video/mov video/quicktime video/avi video/x-flv video/mpg video/webm video/wmv "
    "video/x-ms-wmv video/3gpp audio/wav audio/x-wav audio/mp3 audio/mpeg audio/aiff audio/aac audio/ogg "
    "audio/flac text/plain application/pdf application/json".split()
)
RESOLUTIONS = frozenset(
    {
        "MEDIA_RESOLUTION_UNSPECIFIED",
        "MEDIA_RESOLUTION_LOW",
        "MEDIA_RESOLUTION_MEDIUM",
        "MEDIA_RESOLUTION_HIGH",
    }
)
RESPONSE_MIME = frozenset({"text/plain", "application/json", "text/x.enum"})
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
    model: str
    texts: list[str] = field(default_factory=list)
    media: list[MediaPart] = field(default_factory=list)
    generation_config: dict = field(default_factory=dict)

    @property
    def facts(self) -> list[MediaFacts]:
        return [m.facts for m in self.media]


def check_model(model: str, version: str = "v1beta", method: str = "generateContent") -> str:
    name = model.removeprefix("models/")
    try:
        model_limits(name)
    except UnknownModelError:
        raise ApiError(
            404,
            "NOT_FOUND",
            f"models/{name} is not found for API version {version}, or is not supported for {method}. "
            "Call ListModels to see the list of available models and their supported methods.",
        ) from None
    return name


def decode_b64(data: object, where: str) -> bytes:
    if not isinstance(data, str) or not data:
        raise bad_request(f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed: empty")
    text = data.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(
            f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed for \"{data[:40]}\""
        ) from None


FileLookup = Callable[[str], tuple[bytes, str]]  # file URI or name -> (bytes, mime); raises ApiError
CacheLookup = Callable[[str, str], tuple[dict, dict[str, int]]]  # (name, model) -> (body, tokens by modality)


@dataclass
class Resources:
    """What a request may reference in the emulator's stores: Files API files, cached contents."""

    files: FileLookup | None = None
    caches: CacheLookup | None = None


def parse_request(
    model: str,
    body: dict,
    *,
    version: str = "v1beta",
    raw_size: int | None = None,
    res: Resources | None = None,
) -> ParsedRequest:
    """Validate one (already normalised) GenerateContentRequest and decode its media."""
    name = check_model(model, version)
    limits = transport_limits()
    if raw_size is not None and raw_size > limits.inline_request_max_bytes:
        raise bad_request(f"Request payload size exceeds the limit: {limits.inline_request_max_bytes} bytes.")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise bad_request("* GenerateContentRequest.contents: contents is not specified")
    cfg = body.get("generationConfig") or {}
    if not isinstance(cfg, dict):
        raise bad_request("Invalid JSON payload: generation_config must be an object")
    _check_config(cfg)
    req = ParsedRequest(model=name, generation_config=cfg)
    default_res = cfg.get("mediaResolution") or "MEDIA_RESOLUTION_UNSPECIFIED"
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


def _check_config(cfg: dict) -> None:
    res = cfg.get("mediaResolution")
    if res is not None and res not in RESOLUTIONS:
        raise bad_request(
            f"Invalid value at 'generation_config.media_resolution' (MediaResolution), \"{res}\""
        )
    mime = cfg.get("responseMimeType")
    if mime is not None and mime not in RESPONSE_MIME:
        raise bad_request(
            f"* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are "
            f"{', '.join(sorted(RESPONSE_MIME))}; got {mime}."
        )
    has_schema = cfg.get("responseSchema") is not None
    has_json_schema = cfg.get("responseJsonSchema") is not None
    if has_schema and has_json_schema:
        raise bad_request("response_schema and response_json_schema cannot both be set.")
    if (has_schema or has_json_schema) and mime not in ("application/json", "text/x.enum"):
        raise bad_request(
            "* GenerateContentRequest.generation_config.response_mime_type: "
            "a response schema requires response_mime_type application/json or text/x.enum."
        )


def _parse_part(
    req: ParsedRequest, part: object, where: str, default_res: str, res: Resources | None = None
) -> int:
    if not isinstance(part, dict):
        raise bad_request(f"* GenerateContentRequest.{where}: must be an object")
    present = [k for k in DATA_FIELDS if part.get(k) is not None]
    if len(present) != 1:
        raise bad_request(
            f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have one initialized field"
        )
    kind = present[0]
    if kind == "text":
        if not isinstance(part["text"], str):
            raise bad_request(f"* GenerateContentRequest.{where}.text: must be a string")
        req.texts.append(part["text"])
        return 0
    if kind == "fileData":
        ref = part["fileData"] or {}
        uri = str(ref.get("fileUri") or "")
        if res is None or res.files is None:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"You do not have permission to access the File {uri} or it may not exist.",
            )
        data, stored_mime = res.files(uri)
        mime = str(ref.get("mimeType") or stored_mime).split(";", 1)[0].strip().lower()
        if mime not in ACCEPTED_MIME:
            raise bad_request(f"Unsupported MIME type: {mime}")
        _add_media(req, part, where, default_res, data, mime)
        return 0  # file bytes do not count toward the inline request size
    if kind != "inlineData":
        return 0
    blob = part["inlineData"] or {}
    mime = str(blob.get("mimeType") or "").split(";", 1)[0].strip().lower()
    if not mime:
        raise bad_request(
            f"* GenerateContentRequest.{where}.inline_data.mime_type: mime_type is not specified"
        )
    if mime not in ACCEPTED_MIME:
        raise bad_request(f"Unsupported MIME type: {mime}")
    data = decode_b64(blob.get("data"), f"{where}.inline_data.data")
    _add_media(req, part, where, default_res, data, mime)
    return len(data)


def _add_media(req: ParsedRequest, part: dict, where: str, default_res: str, data: bytes, mime: str) -> None:
    meta = part.get("videoMetadata") or {}
    fps = meta.get("fps", 1.0)
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise bad_request(f"* GenerateContentRequest.{where}.video_metadata.fps: must be a number") from None
    fps_max = transport_limits().video_fps_max
    if not 0 < fps <= fps_max:
        raise bad_request(f"* GenerateContentRequest.{where}.video_metadata.fps: must be in (0, {fps_max:g}]")
    res = part.get("mediaResolution")
    if isinstance(res, dict):
        res = res.get("level")
    res = res or default_res
    if res not in RESOLUTIONS:
        raise bad_request(f"Invalid value at '{where}.media_resolution', \"{res}\"")
    try:
        facts = analyse(data, mime, fps)
    except MediaDecodeError as exc:
        raise bad_request(f"{exc} ({where}, {mime}, {len(data)} bytes)") from None
    req.media.append(MediaPart(facts=facts, fps=fps, resolution=res))


# ------------------------------------------------------------------ answering


@dataclass
class Generated:
    response: dict
    prompt_by_modality: dict[str, int]
    output_tokens: int
    model: str = ""
    cached_by_modality: dict[str, int] = field(default_factory=dict)


def bill_prompt(req: ParsedRequest) -> dict[str, int]:
    by = prompt_tokens(token_rules(req.model), req.media, req.texts)
    total, limit = sum(by.values()), model_limits(req.model).input_token_limit
    if total > limit:
        raise bad_request(
            f"The input token count ({total}) exceeds the maximum number of tokens allowed ({limit})."
        )
    return by


def with_cache(model: str, body: dict, res: Resources | None) -> tuple[dict, dict[str, int]]:
    """Prepend a referenced cachedContent's contents/systemInstruction; return its tokens by modality."""
    name = body.get("cachedContent")
    if not name:
        return body, {}
    if res is None or res.caches is None:
        raise ApiError(403, "PERMISSION_DENIED", "CachedContent not found (or permission denied)")
    cached, cached_by = res.caches(str(name), check_model(model))
    if any(body.get(k) for k in ("systemInstruction", "tools", "toolConfig")):
        raise bad_request(
            "CachedContent can not be used with GenerateContent request setting system_instruction, tools "
            "or tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request."
        )
    contents = body.get("contents")
    if isinstance(contents, list) and contents:
        body = {**body, "contents": list(cached.get("contents") or []) + contents}
    if cached.get("systemInstruction"):
        body = {**body, "systemInstruction": cached["systemInstruction"]}
    return body, cached_by


def generate(
    model: str,
    body: dict,
    *,
    version: str = "v1beta",
    raw_size: int | None = None,
    res: Resources | None = None,
) -> Generated:
    body, cached_by = with_cache(model, body, res)
    req = parse_request(model, body, version=version, raw_size=raw_size, res=res)
    by = bill_prompt(req)
    cached_by = {m: min(n, by.get(m, 0)) for m, n in cached_by.items()}
    rules = token_rules(req.model)
    fps = req.media[0].fps if req.media else 1.0
    text = answer_text(req.generation_config, AnswerContext(req.facts, prompt=" ".join(req.texts), fps=fps))
    finish = "STOP"
    out_tokens = rules.text_tokens(text)
    max_out = min(
        int(req.generation_config.get("maxOutputTokens") or 10**9), model_limits(req.model).output_token_limit
    )
    if out_tokens > max_out:
        text = text[: max_out * rules.text_chars_per_token]
        out_tokens, finish = rules.text_tokens(text), "MAX_TOKENS"
    response = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish, "index": 0}
        ],
        "usageMetadata": usage_metadata(by, out_tokens, cached_by),
        "modelVersion": req.model,
        "responseId": secrets.token_urlsafe(12),
    }
    return Generated(response, by, out_tokens, req.model, cached_by)


def count_tokens(model: str, body: dict, *, version: str = "v1beta", res: Resources | None = None) -> dict:
    inner = body.get("generateContentRequest")
    if isinstance(inner, dict):
        body = inner
    req = parse_request(model, body, version=version, res=res)
    by = bill_prompt(req)
    return {
        "totalTokens": sum(by.values()),
        "promptTokensDetails": [{"modality": m, "tokenCount": n} for m, n in by.items()],
    }
