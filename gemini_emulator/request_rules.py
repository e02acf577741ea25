"""What a generateContent request may carry on a model, per pipeline.catalog (an OFFLINE TEST DOUBLE).

- media resolution: `generationConfig.mediaResolution` must be one of the family's `request_resolutions`
  (ULTRA_HIGH exists per part only); a part's own `mediaResolution` ({"level": ...}) is accepted only
  where the family has `part_resolutions` (3.x, 4.x; 2.5 answers 400) and wins over the request's.
- sampling: the family's `sampling` verdict per parameter: supported, ignored (accepted, no effect:
  reported back so stats can count it) or rejected (400).
- response MIME type / schema and maxOutputTokens, as the API checks them.
Thinking is checked in thinking.py.
"""

from __future__ import annotations

from pipeline.catalog import ModelInfo

from .wire import Json, bad_request

RESPONSE_MIME = frozenset({"text/plain", "application/json", "text/x.enum"})
UNSPECIFIED = "MEDIA_RESOLUTION_UNSPECIFIED"
# wire field -> (catalog `sampling` key, SDK field name used in stats)
SAMPLING = {
    "temperature": ("temperature", "temperature"),
    "topP": ("top_p", "top_p"),
    "topK": ("top_k", "top_k"),
    "presencePenalty": ("penalties", "presence_penalty"),
    "frequencyPenalty": ("penalties", "frequency_penalty"),
}


def check_generation_config(cfg: Json, asked: ModelInfo, answering: ModelInfo) -> tuple[str, ...]:
    """400 for what the API refuses on the model the request names; returns the sampling parameters
    the answering model ignores (SDK names)."""
    _check_request_resolution(cfg.get("mediaResolution"), asked)
    _check_response_format(cfg)
    limit = cfg.get("maxOutputTokens")
    if limit is not None and (not isinstance(limit, int | float) or limit < 0):
        raise bad_request(
            f"* GenerateContentRequest.generation_config.max_output_tokens: must be positive, got {limit!r}"
        )
    ignored = []
    for wire, (key, sdk_name) in SAMPLING.items():
        if cfg.get(wire) is None:
            continue
        if asked.rules.sampling.get(key, "supported") == "rejected":
            raise bad_request(
                f"Penalty is not enabled for models/{asked.name}: {sdk_name} is not supported."
                if key == "penalties"
                else f"{sdk_name} is not supported for models/{asked.name}."
            )
        if answering.rules.sampling.get(key, "supported") != "supported":
            ignored.append(sdk_name)
    return tuple(ignored)


def _check_request_resolution(res: object, asked: ModelInfo) -> None:
    family = asked.rules
    if res is None or res in family.request_resolutions:
        return
    if res in family.part_resolutions:
        raise bad_request(
            f"* GenerateContentRequest.generation_config.media_resolution: {res} can only be set per part "
            f"(parts[].media_resolution) for models/{asked.name}."
        )
    raise bad_request(f"Invalid value at 'generation_config.media_resolution' (MediaResolution), \"{res}\"")


def part_resolution(part: Json, where: str, default: str, asked: ModelInfo) -> str:
    """The media resolution one part is billed at: its own level where the family allows one, else the
    request's."""
    res = part.get("mediaResolution")
    if res is None:
        return default
    family = asked.rules
    if not family.per_part_resolution:
        raise bad_request(
            f"* GenerateContentRequest.{where}.media_resolution: per-part media resolution is not supported "
            f"for models/{asked.name}; set generation_config.media_resolution instead."
        )
    level = res.get("level") if isinstance(res, dict) else res
    if level in (None, UNSPECIFIED):
        return default
    if level not in family.part_resolutions:
        raise bad_request(
            f"Invalid value at '{where}.media_resolution.level' (PartMediaResolutionLevel), \"{level}\""
        )
    return str(level)


def _check_response_format(cfg: Json) -> None:
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
