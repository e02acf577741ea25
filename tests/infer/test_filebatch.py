"""The Files API transport in parallel, against the emulator over HTTP: every chunk is uploaded before any
is polled (one polling pass over all files still PROCESSING, not one file after the other), the requests'
bytes are read as the uploads go, and deletes refused by the service are reported, not raised."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.gemini.client import GeminiClient, GeminiConnection
from pipeline.infer import ChunkRequest, generation_config
from pipeline.infer.filebatch import delete_files, submit
from pipeline.tasks import DESCRIBE

MODEL = "gemini-3.8-flash"


@pytest.fixture
def emulator() -> Iterator[GeminiEmulator]:
    # Videos stay PROCESSING for a while, as on the service: the order of the calls shows the polling.
    with GeminiEmulator(EmulatorConfig(file_processing_s=0.4, request_log_clip=50)) as emu:
        yield emu


def _requests(count: int, handed_out: list[str]) -> Iterator[ChunkRequest]:
    for n in range(count):
        handed_out.append(f"k{n}")
        yield ChunkRequest(
            key=f"k{n}",
            source_uri=f"s3://in/x/v{n}.mp4",
            chunk_index=0,
            chunk_start_s=0.0,
            chunk_duration_s=4.0,
            mime_type="video/mp4",
            data=bytes([n]) * 2048,
        )


def test_chunks_are_uploaded_in_parallel_then_polled_together(emulator: GeminiEmulator) -> None:
    client = GeminiClient(GeminiConnection(api_key="k", base_url=emulator.base_url))
    handed_out: list[str] = []
    config = generation_config(DESCRIBE, MODEL, media_resolution="MEDIA_RESOLUTION_LOW")
    job, names = submit(
        client,
        model=MODEL,
        task=DESCRIBE,
        requests=_requests(12, handed_out),
        config=config,
        display_name="gmp-parallel",
        concurrency=4,
    )
    assert job.startswith("batches/") and len(names) == 13  # 12 chunks and the JSONL
    assert handed_out == [f"k{n}" for n in range(12)]
    log = emulator.recorded_requests()
    # a resumable upload is two POSTs: the start (JSON body) and the bytes; the bytes mark the upload
    uploads = [i for i, r in enumerate(log) if r["method"] == "POST" and "bytes" in r]
    looks = [i for i, r in enumerate(log) if r["method"] == "GET" and "/files/" in r["path"]]
    assert len(uploads) == 13
    chunk_uploads, jsonl_upload = uploads[:12], uploads[12]
    # one pass over the chunks: every upload is in before the first look, and the JSONL after the last
    assert len(chunk_uploads) == 12 and max(chunk_uploads) < min(looks) < jsonl_upload
    assert emulator.stats()["files"]["count"] == 13

    assert delete_files(client, names) == []
    assert emulator.stats()["files"]["count"] == 0
    # a second delete is refused (404) for every file: reported, not raised
    assert sorted(delete_files(client, names)) == sorted(names)
