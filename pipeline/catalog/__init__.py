"""Model limits, token rules and prices: the one versioned source of truth.

The planner (estimates), the cost stage (billing) and the Gemini emulator (usage metadata) all read
these tables, so an estimate and a bill can only differ by what the media really contains.
"""

from __future__ import annotations

import json
import math
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel

MediaResolution = Literal[
    "MEDIA_RESOLUTION_UNSPECIFIED", "MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH"
]


class TokenRules(BaseModel):
    """How one model family turns media into prompt tokens."""

    image_tokens_small: int | None
    image_small_max_px: int | None
    image_tile_px: int | None
    image_tokens_per_tile: int | None
    image_tokens_by_resolution: dict[str, int] | None
    video_frame_tokens: dict[str, int]
    audio_tokens_per_second: int
    text_chars_per_token: int

    def image_tokens(self, width: int, height: int, resolution: str = "MEDIA_RESOLUTION_UNSPECIFIED") -> int:
        if self.image_tokens_by_resolution is not None:
            return self.image_tokens_by_resolution.get(
                resolution, self.image_tokens_by_resolution["MEDIA_RESOLUTION_UNSPECIFIED"]
            )
        assert (
            self.image_small_max_px
            and self.image_tile_px
            and self.image_tokens_per_tile
            and self.image_tokens_small
        )
        if width <= self.image_small_max_px and height <= self.image_small_max_px:
            return self.image_tokens_small
        tiles = math.ceil(width / self.image_tile_px) * math.ceil(height / self.image_tile_px)
        return tiles * self.image_tokens_per_tile

    def frame_tokens(self, resolution: str = "MEDIA_RESOLUTION_UNSPECIFIED") -> int:
        return self.video_frame_tokens.get(
            resolution, self.video_frame_tokens["MEDIA_RESOLUTION_UNSPECIFIED"]
        )

    @staticmethod
    def frames_sampled(duration_s: float, fps: float) -> int:
        """Frames the service samples from a clip: one at t=0, then every 1/fps seconds."""
        if duration_s <= 0:
            return 1
        return max(1, math.ceil(round(duration_s * fps, 6)))

    def video_tokens(
        self, duration_s: float, fps: float, resolution: str = "MEDIA_RESOLUTION_UNSPECIFIED"
    ) -> int:
        return self.frames_sampled(duration_s, fps) * self.frame_tokens(resolution)

    def audio_tokens(self, duration_s: float) -> int:
        return max(0, math.ceil(round(duration_s * self.audio_tokens_per_second, 6)))

    def text_tokens(self, text: str) -> int:
        return math.ceil(len(text) / self.text_chars_per_token) if text else 0


class ModelLimits(BaseModel):
    name: str
    family: str
    input_token_limit: int
    output_token_limit: int
    min_cache_tokens: int = 4096  # explicit context caches smaller than this are refused


class TransportLimits(BaseModel):
    inline_request_max_bytes: int
    batch_inline_total_max_bytes: int
    files_api_max_bytes: int
    video_fps_max: float


class ModelPrice(BaseModel):
    """USD per 1M tokens for one model in one price-table version."""

    input: float
    input_audio: float
    output: float
    cache: float
    cache_audio: float
    cache_storage_per_hour: float
    tier_threshold_tokens: int | None = None
    input_above: float | None = None
    input_audio_above: float | None = None
    output_above: float | None = None
    cache_above: float | None = None
    cache_audio_above: float | None = None


class PriceTable(BaseModel):
    version: str
    effective_date: date
    source: str
    batch_discount: float
    models: dict[str, ModelPrice]


class UnknownModelError(KeyError):
    """The model is not in the catalog; add it to pipeline/catalog/models.json and prices.json."""


@cache
def _models_doc() -> dict:
    return json.loads(files(__package__).joinpath("models.json").read_text())


def known_models() -> list[str]:
    return sorted(_models_doc()["models"])


def model_limits(model: str) -> ModelLimits:
    name = model.removeprefix("models/")
    entry = _models_doc()["models"].get(name)
    if entry is None:
        raise UnknownModelError(f"unknown model {model!r}; known: {', '.join(known_models())}")
    return ModelLimits(name=name, **entry)


def token_rules(model: str) -> TokenRules:
    return TokenRules(**_models_doc()["families"][model_limits(model).family])


def transport_limits() -> TransportLimits:
    return TransportLimits(**_models_doc()["transport"])


@cache
def _price_tables() -> tuple[PriceTable, ...]:
    doc = json.loads(files(__package__).joinpath("prices.json").read_text())
    tables = [PriceTable(**v) for v in doc["versions"]]
    return tuple(sorted(tables, key=lambda t: t.effective_date))


def price_table(on: date | None = None) -> PriceTable:
    """The price table in force on a date (today when None): the latest one effective by then."""
    on = on or date.today()
    tables = _price_tables()
    effective = [t for t in tables if t.effective_date <= on]
    return effective[-1] if effective else tables[0]


def model_price(model: str, on: date | None = None) -> tuple[PriceTable, ModelPrice]:
    table = price_table(on)
    name = model.removeprefix("models/")
    if name not in table.models:
        raise UnknownModelError(f"no price for model {model!r} in price table {table.version}")
    return table, table.models[name]
