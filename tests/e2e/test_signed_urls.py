"""Media by signed URL on the embedded services: Gemini 3.x requests carry a pre-signed GET URL of their
staged chunk (no Files API upload, no inline bytes), each URL is valid SigV4 for exactly that object,
an expired one is refused by the emulator and becomes a failed (retried, re-signed) request, and no
signature is ever written down by the pipeline."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.config import Settings
from pipeline.errors import RunQualityError
from pipeline.infer import media_urls
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from tests.conftest import FIXTURE_MEDIA
from tests.sigv4 import access_key_of, expected_signature, signature_of

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 6)
FILES = ["i_webp_lossy.webp", "a_opus_mono.opus", "v_vp9_opus_320x180.webm"]
TABLES = ("media", "annotations", "segments", "requests", "runs", "quarantine")
SIGNATURE = re.compile(r"X-Amz-Signature=[0-9a-f]{16,}", re.IGNORECASE)
# The other side's own logs (moto's request log, the emulator's): theirs to keep, not the pipeline's.
NOT_OURS = ("werkzeug", "moto", "gemini_emulator")


@pytest.fixture
def loaded(buckets, services):  # noqa: ANN001, ANN201
    source, dest = buckets
    store = S3Store()
    for name in FILES:
        store.upload(FIXTURE_MEDIA / name, S3Location.parse(f"{source}/dt={DT.isoformat()}/{name}"))
    return source, dest, store


def _settings(source: str, dest: str, **extra: Any) -> Settings:
    defaults: dict[str, Any] = {"batch_poll_seconds": 0.2, "create_backoff_seconds": 0.1, "mode": "batch"}
    return Settings(source=source, dest=dest, **{**defaults, **extra})


def _media_parts(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Every media part of a logged generateContent or inline batchGenerateContent body."""
    body = entry.get("body") or {}
    requests = body.get("batch", {}).get("inputConfig", {}).get("requests", {}).get("requests")
    bodies = [r["request"] for r in requests] if requests else [body]
    return [
        part
        for request in bodies
        for content in request.get("contents") or []
        for part in content.get("parts") or []
        if "text" not in part
    ]


def _file_uri(part: dict[str, Any]) -> str:
    ref = part.get("fileData") or part.get("file_data") or {}
    return str(ref.get("fileUri") or ref.get("file_uri") or "")


class _Writes:
    """Every object the pipeline writes through S3Store.put_bytes (state, ledgers, group results), kept
    as written: a replaced state shard is deleted at once, its every version is kept here."""

    def __init__(self) -> None:
        self.docs: list[tuple[str, bytes]] = []


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> _Writes:
    seen = _Writes()
    original = S3Store.put_bytes

    def put_bytes(
        self: S3Store, loc: S3Location, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        seen.docs.append((loc.uri, data))
        original(self, loc, data, content_type)

    monkeypatch.setattr(S3Store, "put_bytes", put_bytes)
    return seen


def test_a_3x_batch_reads_every_chunk_by_signed_url(loaded, monkeypatch, writes, caplog) -> None:  # noqa: ANN001
    source, dest, store = loaded
    caplog.set_level(logging.DEBUG)
    config = EmulatorConfig(batch_pending_s=0.1, batch_running_s=0.2, request_log_clip=None)
    with GeminiEmulator(config) as emulator:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        summary = run_job(_settings(source, dest), DT, store=store)  # transport=auto, gemini-3.8-flash
        stats, log = emulator.stats(), emulator.recorded_requests()
    assert summary.items_ok == len(FILES)
    assert "files.upload_start" not in stats["requests"] and stats["files"]["count"] == 0
    parts = [part for entry in log for part in _media_parts(entry)]
    assert parts and not [p for p in parts if "inlineData" in p or "inline_data" in p]
    uris = [_file_uri(p) for p in parts]
    assert stats["urls"]["fetched"] == len(uris) and stats["urls"]["refused"] == 0
    staging = f"/{S3Location.parse(dest).bucket}/{S3Location.parse(dest).join('_staging', 'chunks').key}/"
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    assert len(uris) == len(requests) and all(r["status"] == "ok" for r in requests)

    # Each URL is valid SigV4, with the run's credentials, for exactly one staged chunk, for 48 h + margin.
    # (staging is cleaned after commit: the chunks are known from the state shards the run staged, which
    # keep each request's facts with its item)
    shards = [json.loads(d) for u, d in writes.docs if "/state/items/" in u]
    chunks = {fact["chunk_uri"] for shard in shards for fact in shard["requests"].values()}
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    for uri in uris:
        path = unquote(urlsplit(uri).path)
        assert path.startswith(staging), uri.split("?")[0]
        assert "s3:/" + path in chunks
        assert access_key_of(uri) == os.environ["AWS_ACCESS_KEY_ID"]
        assert signature_of(uri) == expected_signature(uri, secret)
        query = dict(parse_qsl(urlsplit(uri).query))
        assert int(query["X-Amz-Expires"]) == media_urls.batch_url_expires_s() >= 48 * 3600

    # Signed URLs are credentials: no signature in any table, staged document or pipeline log line.
    for table in TABLES:
        for row in read_table(store, S3Location.parse(dest), table).to_pylist():
            assert not SIGNATURE.search(str(row)), (table, row)
    assert any(uri.endswith("manifest.json") for uri, _ in writes.docs) and shards
    for uri, data in writes.docs:
        assert not SIGNATURE.search(data.decode("utf-8", "replace")), uri
    ours = [r for r in caplog.records if not r.name.startswith(NOT_OURS)]
    assert ours and not [r.getMessage() for r in ours if SIGNATURE.search(r.getMessage())]


def test_an_expired_url_is_refused_and_the_request_fails_after_a_fresh_retry(
    loaded,
    monkeypatch,
    writes,
    caplog,  # noqa: ANN001
) -> None:
    source, dest, store = loaded
    caplog.set_level(logging.DEBUG)
    # The emulator's clock runs 50 h ahead: every URL (signed for 49 h) is past its expiry.
    config = EmulatorConfig(
        batch_pending_s=0.1, batch_running_s=0.2, request_log_clip=None, url_clock_offset_s=50 * 3600
    )
    with GeminiEmulator(config) as emulator:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        # every item fails: the run's quality gate says so after writing the tables
        with pytest.raises(RunQualityError, match="request_error"):
            run_job(_settings(source, dest, max_request_attempts=2), DT, store=store)
        stats, log = emulator.stats(), emulator.recorded_requests()
    assert stats["urls"]["fetched"] == 0 and stats["urls"]["refused"] > 0
    requests = read_table(store, S3Location.parse(dest), "requests").to_pylist()
    assert requests and all(r["status"] != "ok" for r in requests)
    by_mode = {r["mode"] for r in requests}
    assert by_mode == {"batch", "sync"}  # the batch item error, then one synchronous retry per request
    for row in requests:
        assert "Cannot fetch content from the provided URL" in row["error"], row["error"]
        assert not SIGNATURE.search(row["error"]) and "X-Amz-Signature=REDACTED" in row["error"]
    # The retry was re-signed: a sync request's URL is not the batch one's.
    batch_uris = {
        _file_uri(p) for e in log if e["path"].endswith(":batchGenerateContent") for p in _media_parts(e)
    }
    sync_uris = {_file_uri(p) for e in log if e["path"].endswith(":generateContent") for p in _media_parts(e)}
    assert batch_uris and sync_uris and not batch_uris & sync_uris
    assert all(f"X-Amz-Expires={media_urls.SYNC_URL_EXPIRES_S}" in u for u in sync_uris)
    media = read_table(store, S3Location.parse(dest), "media").to_pylist()
    assert all(m["status"] in ("failed", "quarantined") for m in media)
    for table in TABLES:
        for row in read_table(store, S3Location.parse(dest), table).to_pylist():
            assert not SIGNATURE.search(str(row)), (table, row)
    for uri, data in writes.docs:
        assert not SIGNATURE.search(data.decode("utf-8", "replace")), uri
    ours = [r for r in caplog.records if not r.name.startswith(NOT_OURS)]
    assert not [r.getMessage() for r in ours if SIGNATURE.search(r.getMessage())]


def test_transport_url_on_a_model_without_urls_is_refused_before_any_call(loaded, monkeypatch) -> None:  # noqa: ANN001
    from pipeline.errors import ConfigError

    source, dest, store = loaded
    with GeminiEmulator(EmulatorConfig()) as emulator:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        settings = _settings(source, dest, transport="url", model="gemini-2.5-flash-lite")
        with pytest.raises(ConfigError, match="does not take media by URL"):
            run_job(settings, DT, store=store)
        assert emulator.stats()["batch_jobs_created"] == 0
