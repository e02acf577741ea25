"""Media URLs the emulator cannot fetch (an offline test double of Gemini 3.x fetching a pre-signed S3 URL),
against moto's S3 server: an unsigned URL (moto answers 403), a missing object (404) and an object over
the URL fetch limit are each the service's 400 INVALID_ARGUMENT "Cannot fetch content from the provided
URL", and nothing is billed or fetched for them. The limit is the catalog's (100 MB); the test lowers it
the way the catalog is read (so the object that crosses it stays small)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from gemini_emulator import EmulatorConfig, GeminiEmulator, url_media
from pipeline.catalog import transport_limits
from pipeline.storage import S3Location, S3Store
from tests.conftest import FIXTURE_MEDIA

MODEL = "gemini-3.8-flash"  # a 3.x model: takes media by URL
PICTURE = FIXTURE_MEDIA / "i_jpeg_exif_orientation6.jpg"  # 4,951 bytes
LIMIT = PICTURE.stat().st_size  # the lowered fetch limit: the picture is exactly at it
CANNOT_FETCH = "Cannot fetch content from the provided URL"


@pytest.fixture(scope="module")
def emu() -> Iterator[GeminiEmulator]:
    with GeminiEmulator(EmulatorConfig()) as e:
        yield e


@pytest.fixture
def client(emu: GeminiEmulator) -> genai.Client:
    emu.reset()
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=emu.base_url))


@pytest.fixture
def objects(buckets: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The picture at the lowered limit, one byte over it, and where a missing one would be."""
    monkeypatch.setattr(
        url_media,
        "transport_limits",
        lambda: transport_limits().model_copy(update={"url_request_max_bytes": LIMIT}),
    )
    store = S3Store()
    base = S3Location.parse(buckets[0])
    at, over = base.join("at-limit.jpg"), base.join("over-limit.jpg")
    store.upload(PICTURE, at)
    store.put_bytes(over, PICTURE.read_bytes() + b"\0", "image/jpeg")  # a JPEG with one trailing byte
    return {"store": store, "at": at, "over": over, "missing": base.join("missing.jpg")}


def _signed(store: S3Store, loc: S3Location) -> str:
    return str(
        store.client.generate_presigned_url(
            "get_object", Params={"Bucket": loc.bucket, "Key": loc.key}, ExpiresIn=600
        )
    )


def _ask(client: genai.Client, url: str) -> types.GenerateContentResponse:
    return client.models.generate_content(
        model=MODEL,
        contents=[types.Part.from_uri(file_uri=url, mime_type="image/jpeg"), "Describe the picture."],
    )


def _refused(emu: GeminiEmulator, client: genai.Client, url: str, why: str) -> None:
    with pytest.raises(errors.ClientError) as caught:
        _ask(client, url)
    err = caught.value
    assert err.code == 400 and err.status == "INVALID_ARGUMENT", (err.code, err.status)
    assert CANNOT_FETCH in str(err.message) and why in str(err.message), err.message
    stats = emu.stats()
    assert stats["tokens"]["prompt"] == 0 and not stats["responses_generated"]  # nothing answered, billed


def test_a_presigned_url_at_the_limit_is_fetched_and_billed(client, emu, objects) -> None:  # noqa: ANN001
    answer = _ask(client, _signed(objects["store"], objects["at"]))
    assert answer.usage_metadata is not None and answer.usage_metadata.prompt_token_count
    assert emu.stats()["urls"] == {"fetched": 1, "fetched_bytes": LIMIT, "refused": 0}


def test_an_unsigned_url_is_refused_as_moto_forbids_it(client, emu, objects) -> None:  # noqa: ANN001
    loc: S3Location = objects["at"]
    unsigned = f"{os.environ['AWS_ENDPOINT_URL']}/{loc.bucket}/{loc.key}"
    _refused(emu, client, unsigned, "HTTP 403")
    assert emu.stats()["urls"] == {"fetched": 0, "fetched_bytes": 0, "refused": 1}


def test_a_missing_object_is_refused(client, emu, objects) -> None:  # noqa: ANN001
    _refused(emu, client, _signed(objects["store"], objects["missing"]), "HTTP 404")
    assert emu.stats()["urls"]["refused"] == 1


def test_an_object_over_the_fetch_limit_is_refused(client, emu, objects) -> None:  # noqa: ANN001
    _refused(emu, client, _signed(objects["store"], objects["over"]), f"exceeds the limit of {LIMIT} bytes")
    assert emu.stats()["urls"] == {"fetched": 0, "fetched_bytes": 0, "refused": 1}
