"""A URL-transport batch request weighs under 2 KB per chunk (issue #12), as the service receives it.

Each request is built as the infer stage builds it (the describe task's contents and generation config,
a signed URL of a staged chunk from the S3 client's signer, the request key of a real item), submitted
through the real SDK to the emulator, and measured as the scale benchmark measures it: each item of
`batch.inputConfig.requests.requests` as compact JSON (pipeline_tools.bench.scale.emulator_evidence).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.config import Settings
from pipeline.gemini.client import GeminiClient, GeminiConnection
from pipeline.infer import batch, media_urls
from pipeline.infer.requests import ChunkRequest, generation_config, model_for
from pipeline.models import Track
from pipeline.run.state import request_key
from pipeline.storage import S3Connection, S3Layout, S3Location, S3Store
from pipeline.tasks import DESCRIBE
from pipeline_tools.bench.scale import PAYLOAD_TARGET_BYTES, emulator_evidence
from pipeline_tools.embedded import free_port

DEST = S3Location.parse("s3://bench-scale-results/gemini")
SETTINGS = Settings(source="s3://bench-scale-inbox/incoming", dest=DEST.uri, transport="url")
# (track, mime type, frame rate the chunk was prepared at): an image, a video with its sound, and a split
# video's two halves, the picture at a reduced frame rate (its videoMetadata is sent then)
CHUNKS = [
    (Track.ALL, "image/jpeg", 1.0),
    (Track.ALL, "video/mp4", 1.0),
    (Track.PICTURE, "video/mp4", 0.5),
    (Track.SOUND, "audio/ogg", 1.0),
]


@pytest.fixture(scope="module")
def emulator() -> Iterator[GeminiEmulator]:
    # the jobs never need to run: only what the SDK sent is read
    config = EmulatorConfig(batch_pending_s=600, request_log_clip=None)
    with GeminiEmulator(config) as emu:
        yield emu


def _store() -> S3Store:
    """The embedded S3's endpoint and credentials as the scale benchmark's runs have them (a session
    token included); signing needs no server."""
    return S3Store(
        connection=S3Connection(
            endpoint_url=f"http://127.0.0.1:{free_port()}",
            region="us-east-1",
            access_key_id="testing",
            secret_access_key=SecretStr("testing"),
            session_token=SecretStr("testing"),
        )
    )


def _request(track: Track, mime: str, fps: float) -> ChunkRequest:
    sha256 = hashlib.sha256(f"{track}{mime}".encode()).hexdigest()
    fingerprint = hashlib.sha256(b"settings").hexdigest()[:16]
    extension = {"image/jpeg": "jpg", "video/mp4": "mp4", "audio/ogg": "ogg"}[mime]
    chunk = S3Layout(DEST).chunks(sha256, fingerprint).join(f"chunk_000.{extension}")
    url = media_urls.sign(_store(), DEST, chunk.uri, media_urls.batch_url_expires_s())
    return ChunkRequest(
        key=request_key(sha256, 0, fingerprint, track),
        source_uri=f"s3://bench-scale-inbox/incoming/dt=2026-11-20/{sha256[:8]}",
        chunk_index=0,
        chunk_start_s=0.0,
        chunk_duration_s=6.0,
        mime_type=mime,
        data=b"",
        video_fps=fps,
        track=track,
        url=url,
    )


@pytest.mark.parametrize(("track", "mime", "fps"), CHUNKS, ids=lambda v: str(getattr(v, "value", v)))
def test_a_url_batch_request_for_one_chunk_is_under_2_kb(
    emulator: GeminiEmulator, track: Track, mime: str, fps: float
) -> None:
    request = _request(track, mime, fps)
    model = model_for(track, SETTINGS.prepare_settings(DESCRIBE), SETTINGS.model)
    config = generation_config(
        DESCRIBE, model, media_resolution=request.media_resolution, sound=track is Track.SOUND
    )
    client = GeminiClient(GeminiConnection(api_key="k", base_url=emulator.base_url, timeout_ms=30_000))
    before = len(emulator.recorded_requests())
    batch.submit_inline(
        client, model=model, task=DESCRIBE, requests=[request], config=config, display_name=request.key
    )
    sent = emulator.recorded_requests()[before:]
    evidence = emulator_evidence(emulator.stats(), sent)
    assert evidence["payload_requests"] == 1 and evidence["payload_with_inline_data"] == 0
    # what was measured carries the chunk's signed URL, its SigV4 signature included (shown redacted)
    sent_as = evidence["payload_largest_redacted"]
    assert request.url is not None and request.url.split("?", 1)[0] in sent_as
    assert "X-Amz-Signature=<64>" in sent_as and "X-Amz-Security-Token=<7>" in sent_as
    assert evidence["payload_max_bytes"] < PAYLOAD_TARGET_BYTES, evidence["payload_largest_redacted"]
