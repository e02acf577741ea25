"""What a chunk's media part carries: a media resolution only where it changes what the part is billed
(pipeline/catalog/models.json), so a batch does not repeat a field that says the default."""

from __future__ import annotations

import pytest

from pipeline.catalog import model_info
from pipeline.infer.requests import ChunkRequest, media_part, part_resolution

MODEL_3X, MODEL_2X = "gemini-3.8-flash", "gemini-2.5-flash-lite"


def _chunk(mime: str, resolution: str) -> ChunkRequest:
    return ChunkRequest("k", "s3://b/x", 0, 0.0, 6.0, mime, b"", media_resolution=resolution, url="https://u")


@pytest.mark.parametrize(
    ("mime", "resolution", "sent"),
    [
        # a 3.x frame is 70 tokens at LOW, MEDIUM and unset: nothing to say
        ("video/mp4", "MEDIA_RESOLUTION_LOW", None),
        ("video/mp4", "MEDIA_RESOLUTION_MEDIUM", None),
        ("video/mp4", "MEDIA_RESOLUTION_HIGH", "MEDIA_RESOLUTION_HIGH"),  # 280 a frame
        ("image/png", "MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_LOW"),  # 280 against 1,120 unset
        ("audio/ogg", "MEDIA_RESOLUTION_LOW", None),  # audio has no resolution
    ],
)
def test_a_3x_part_carries_its_resolution_only_where_it_changes_the_tokens(
    mime: str, resolution: str, sent: str | None
) -> None:
    chunk = _chunk(mime, resolution)
    assert part_resolution(chunk, MODEL_3X) == sent
    on_part = media_part(chunk, MODEL_3X).media_resolution
    assert (on_part.level.value if on_part and on_part.level else None) == sent
    tokens = model_info(MODEL_3X).rules.tokens
    if mime.startswith("video/") and sent is None:  # what the field would have said is what is billed
        assert tokens.frame_tokens(resolution) == tokens.frame_tokens()


def test_a_2x_part_carries_none_the_request_does() -> None:
    assert part_resolution(_chunk("video/mp4", "MEDIA_RESOLUTION_LOW"), MODEL_2X) is None
    assert part_resolution(_chunk("image/png", "MEDIA_RESOLUTION_LOW"), MODEL_2X) is None
