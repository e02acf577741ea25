"""Shape the emulator's answer (OFFLINE TEST DOUBLE) to the request's response schema.

Accepts both `responseSchema` (OpenAPI subset, types in upper case, what the SDK sends for a pydantic
class) and `responseJsonSchema` (JSON Schema with $defs/$ref, anyOf, type lists). Fields are filled from
the media facts by name: arrays of objects with start/end-like fields get the spans, summary-like strings a
sentence, tag-like string arrays keywords, `language` "und", width/height/duration the measured values,
anything else a type-correct default. Every property is present, so required ones always are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .analysis import MediaFacts, Span
from .wire import Json

SUMMARY_NAMES = ("summary", "description", "caption", "overview", "text", "answer", "content", "explanation")
TAG_NAMES = ("tags", "keywords", "labels", "topics", "categories", "objects", "entities")
PAD_TAGS = ("media", "clip", "colour", "synthetic", "sample")


@dataclass
class AnswerContext:
    facts: list[MediaFacts]
    prompt: str = ""
    fps: float = 1.0
    spans: list[Span] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.spans:
            self.spans = [s for f in self.facts for s in f.spans]

    @property
    def primary(self) -> MediaFacts | None:
        return self.facts[0] if self.facts else None

    @property
    def duration(self) -> float:
        return max((f.duration_s for f in self.facts), default=0.0)

    @property
    def width(self) -> int:
        return next((f.width for f in self.facts if f.width), 0)

    @property
    def height(self) -> int:
        return next((f.height for f in self.facts if f.height), 0)

    @property
    def colours(self) -> list[str]:
        return list(dict.fromkeys(c for f in self.facts for c in f.colours))

    @property
    def has_audio(self) -> bool:
        return any(f.has_audio for f in self.facts)

    def tags(self) -> list[str]:
        tags: list[str] = []
        for f in self.facts:
            tags += [f.kind, *f.colours]
            if f.has_audio and f.kind != "audio":
                tags.append("audio")
            tags += [s.label.split(": ", 1)[1] for s in f.audio_spans]
            if f.width and f.height:
                tags.append("landscape" if f.width >= f.height else "portrait")
        if not self.facts:
            tags += re.findall(r"[a-z]{4,}", self.prompt.lower())[:5]
        tags = list(dict.fromkeys(tags))
        tags += [t for t in PAD_TAGS if t not in tags][: max(0, 5 - len(tags))]
        return tags[:10]

    def summary(self) -> str:
        if not self.facts:
            echo = " ".join(self.prompt.split())[:200]
            return f'Emulated answer to a text-only prompt: "{echo}".' if echo else "Emulated answer."
        return " ".join(_describe(f) for f in self.facts)

    def title(self) -> str:
        f = self.primary
        if f is None:
            return "text"
        return f"{f.kind}: {', '.join(f.colours)}" if f.colours else f.kind


def _describe(f: MediaFacts) -> str:
    if f.kind == "image":
        cols = _join(list(f.colours)) or "unknown colours"
        return f"A {f.width}x{f.height} image whose dominant colours are {cols}."
    if f.kind == "video":
        scenes = ", ".join(
            f"{s.label.removeprefix('scene: ')} ({s.start_s:g}-{s.end_s:g} s)" for s in f.scenes
        )
        n = len(f.scenes)
        text = (
            f"A {f.duration_s:.1f} s video ({f.width}x{f.height}) with {n} scene{'s' * (n != 1)}: {scenes}."
        )
        # Only what the part carries is described: a video without an audio stream may be the picture
        # half of a recording whose sound is sent apart, so its missing sound is not reported as silence.
        if f.has_audio:
            text += " " + _audio_sentence(f, "Its audio track has")
        return text
    if f.kind == "audio":
        return f"A {f.duration_s:.1f} s audio clip. " + _audio_sentence(f, "It has")
    if f.kind == "document":
        return f"A PDF document of {f.pages} page{'s' * (f.pages != 1)}."
    return f"A text document of {len(f.text)} characters."


def _audio_sentence(f: MediaFacts, lead: str) -> str:
    parts = [
        f"{'sound' if s.label.endswith('loud') else 'silence'} from {s.start_s:g} to {s.end_s:g} s"
        for s in f.audio_spans
    ]
    return f"{lead} {_join(parts)}." if parts else f"{lead} no decodable samples."


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------- schema handling


def resolve(schema: Json, root: Json, depth: int = 0) -> Json:
    """Follow $ref, collapse allOf/anyOf/oneOf (first non-null branch), normalise `type` to lower case."""
    if depth > 32 or not isinstance(schema, dict):
        return {}
    if "$ref" in schema:
        ref = schema["$ref"]
        target: object = root
        for piece in ref.removeprefix("#/").split("/"):
            target = target.get(piece, {}) if isinstance(target, dict) else {}
        merged = {**resolve(target if isinstance(target, dict) else {}, root, depth + 1)}
        merged.update({k: v for k, v in schema.items() if k != "$ref"})
        return resolve(merged, root, depth + 1) if "$ref" in merged else merged
    out = dict(schema)
    for key in ("allOf",):
        if key in out:
            for sub in out.pop(key):
                out = {**resolve(sub, root, depth + 1), **out}
    for key in ("anyOf", "oneOf"):
        if key in out:
            branches = [resolve(b, root, depth + 1) for b in out.pop(key)]
            branch = next((b for b in branches if _type(b) != "null"), branches[0] if branches else {})
            out = {**branch, **out}
    t = out.get("type")
    if isinstance(t, list):
        t = next((x for x in t if str(x).lower() != "null"), "null")
    if t is None:
        t = (
            "object"
            if "properties" in out
            else "array"
            if "items" in out
            else "string"
            if "enum" in out
            else None
        )
    if t is not None:
        out["type"] = str(t).lower()
    return out


def _type(schema: Json) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if str(x).lower() != "null"), "null")
    return str(t or "").lower()


def _norm(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("-", "_")


def _is_start(n: str) -> bool:
    return bool(re.search(r"(^|_)(start|begin|from|t0)(_|$)", n))


def _is_end(n: str) -> bool:
    return bool(re.search(r"(^|_)(end|stop|to|until|t1)(_|$)", n))


def _span_keys(item: Json) -> tuple[str, str] | None:
    props = item.get("properties") or {}
    start = next((k for k in props if _is_start(_norm(k))), None)
    end = next((k for k in props if _is_end(_norm(k))), None)
    return (start, end) if start and end else None


def fill(schema: Json, root: Json, name: str, ctx: AnswerContext, span: Span | None = None) -> Any:
    s = resolve(schema, root)
    t = s.get("type")
    n = _norm(name)
    if "enum" in s and s["enum"]:
        words = {ctx.primary.kind if ctx.primary else "text", *ctx.colours}
        return next((v for v in s["enum"] if str(v).lower() in words), s["enum"][0])
    if t == "object":
        props = s.get("properties") or {}
        order = s.get("propertyOrdering") or s.get("property_ordering") or list(props)
        order = [k for k in order if k in props] + [k for k in props if k not in order]
        return {k: fill(props[k], root, k, ctx, span) for k in order}
    if t == "array":
        return _fill_array(s, root, n, ctx)
    if t == "string":
        return _fill_string(s, n, ctx, span)
    if t in ("number", "integer"):
        return _fill_number(s, n, ctx, span, integer=(t == "integer"))
    if t == "boolean":
        if "audio" in n:
            return ctx.has_audio
        if "video" in n:
            return any(f.kind == "video" for f in ctx.facts)
        if "silent" in n or "silence" in n:
            return not any(sp.label == "audio: loud" for sp in ctx.spans)
        return False
    if t == "null":
        return None
    return _fill_string(s, n, ctx, span)


def _fill_array(s: Json, root: Json, n: str, ctx: AnswerContext) -> list[Any]:
    items = resolve(s.get("items") or {}, root)
    out: list[Any]
    keys = _span_keys(items) if items.get("type") == "object" else None
    if keys:
        spans = ctx.spans
        if "scene" in n or "shot" in n:
            spans = [sp for sp in spans if sp.label.startswith("scene:")]
        elif "audio" in n or "sound" in n:
            spans = [sp for sp in spans if sp.label.startswith("audio:")]
        out = [fill(items, root, "", ctx, sp) for sp in spans]
    elif items.get("type") == "string" and any(k in n for k in ("colour", "color")):
        out = ctx.colours
    elif items.get("type") == "string" and (n in TAG_NAMES or any(n.endswith(k) for k in TAG_NAMES)):
        out = ctx.tags()
    elif items.get("type") == "string" and ("language" in n or "lang" in n):
        out = ["und"]
    else:
        out = []
    min_items, max_items = s.get("minItems"), s.get("maxItems")
    if min_items is not None and len(out) < int(min_items):
        out += [fill(items, root, n.rstrip("s"), ctx) for _ in range(int(min_items) - len(out))]
    if max_items is not None:
        out = out[: int(max_items)]
    return out


def _fill_string(s: Json, n: str, ctx: AnswerContext, span: Span | None) -> str:
    if span is not None:
        if _is_start(n) or _is_end(n):
            return _clock(span.start_s if _is_start(n) else span.end_s)
        if n in ("label", "name", "title", "scene", "type", "kind", "category", "tag"):
            return span.label
        if any(k in n for k in ("colour", "color")):
            return span.label.removeprefix("scene: ") if span.label.startswith("scene:") else ""
        if any(k in n for k in SUMMARY_NAMES):
            return span.description
    if "language" in n or n in ("lang", "locale"):
        return "und"
    if s.get("format") == "date-time":
        return datetime.now(UTC).isoformat()
    if any(k in n for k in SUMMARY_NAMES):
        return ctx.summary()
    if n in ("title", "name", "label", "headline"):
        return ctx.title()
    if "mime" in n:
        return ctx.primary.mime_type if ctx.primary else "text/plain"
    if n in ("media_type", "type", "kind", "modality"):
        return ctx.primary.kind if ctx.primary else "text"
    if any(k in n for k in ("colour", "color")):
        return ctx.colours[0] if ctx.colours else "unknown"
    min_len = int(s.get("minLength") or 0)
    return "unknown".ljust(min_len, "?")


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _fill_number(s: Json, n: str, ctx: AnswerContext, span: Span | None, integer: bool) -> float:
    value: float = 0.0
    scale = 1000.0 if n.endswith("_ms") or "millis" in n else 1.0
    if span is not None and (_is_start(n) or _is_end(n)):
        value = (span.start_s if _is_start(n) else span.end_s) * scale
    elif n.startswith("width"):
        value = ctx.width
    elif n.startswith("height"):
        value = ctx.height
    elif "duration" in n or n in ("length_s", "length_seconds", "length"):
        value = ctx.duration * scale
    elif _is_end(n):
        value = ctx.duration * scale
    elif n == "fps" or "frame_rate" in n:
        value = ctx.fps
    elif any(k in n for k in ("confidence", "score", "probability")):
        value = 0.9
    elif "scene" in n and any(k in n for k in ("count", "num", "number")) or n.startswith("n_scene"):
        value = sum(1 for sp in ctx.spans if sp.label.startswith("scene:"))
    if "minimum" in s:
        value = max(value, float(s["minimum"]))
    if "maximum" in s:
        value = min(value, float(s["maximum"]))
    return int(round(value)) if integer else round(float(value), 3)


def default_object(ctx: AnswerContext) -> Json:
    return {
        "summary": ctx.summary(),
        "tags": ctx.tags(),
        "language": "und",
        "segments": [
            {"start_s": s.start_s, "end_s": s.end_s, "label": s.label, "description": s.description}
            for s in ctx.spans
        ],
    }


def answer_text(generation_config: Json, ctx: AnswerContext) -> str:
    """The candidate's text: JSON shaped to the schema, the default object, or plain sentences."""
    json_schema = generation_config.get("responseJsonSchema")
    schema = json_schema if json_schema is not None else generation_config.get("responseSchema")
    mime = (generation_config.get("responseMimeType") or "text/plain").lower()
    if schema:
        return json.dumps(fill(schema, schema, "", ctx))
    if mime == "application/json":
        return json.dumps(default_object(ctx))
    return ctx.summary()
