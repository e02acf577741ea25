"""Files API, JSONL batches and context caches of the Gemini emulator (an offline test double), through
the SDK."""

from __future__ import annotations

import io
import json
import time

import ffmpeg
import httpx
import pytest
from google import genai
from google.genai import errors, types

from gemini_emulator import EmulatorConfig, GeminiEmulator

MODEL = "gemini-3.8-flash"  # explicit caches from 4,096 tokens
LITE = "gemini-2.5-flash-lite"  # explicit caches from 2,048 tokens


@pytest.fixture(scope="module")
def emu():
    cfg = EmulatorConfig(batch_pending_s=0.1, batch_running_s=0.2, file_processing_s=0.4)
    with GeminiEmulator(cfg) as e:
        yield e


@pytest.fixture(scope="module")
def client(emu):
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=emu.base_url))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 s, 160x90: red 0-1.5, blue 1.5-3; a tone throughout."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    v = ffmpeg.concat(
        ffmpeg.input("color=c=red:s=160x90:r=10:d=1.5", f="lavfi"),
        ffmpeg.input("color=c=blue:s=160x90:r=10:d=1.5", f="lavfi"),
        v=1,
        a=0,
    )
    a = ffmpeg.input("sine=frequency=440:sample_rate=16000:duration=3", f="lavfi")
    ffmpeg.output(
        v, a, str(path), vcodec="libx264", preset="ultrafast", pix_fmt="yuv420p", acodec="aac", t=3
    ).overwrite_output().run(quiet=True)
    return path


def wait_active(client, name: str, timeout: float = 10) -> types.File:
    deadline = time.monotonic() + timeout
    f = client.files.get(name=name)
    while f.state != types.FileState.ACTIVE and time.monotonic() < deadline:
        time.sleep(0.05)
        f = client.files.get(name=name)
    return f


def wait_done(client, name: str, timeout: float = 20) -> types.BatchJob:
    deadline = time.monotonic() + timeout
    job = client.batches.get(name=name)
    while not job.done and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.batches.get(name=name)
    return job


def test_upload_get_list_delete(emu, client, tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("hello files api")
    f = client.files.upload(file=path)  # mime type guessed from the suffix
    assert f.name.startswith("files/") and f.mime_type == "text/plain" and f.size_bytes == 15
    assert f.state == types.FileState.ACTIVE and f.source == types.FileSource.UPLOADED
    assert f.uri.endswith(f.name) and f.download_uri is None
    assert (f.expiration_time - f.create_time).total_seconds() == pytest.approx(48 * 3600)
    g = client.files.upload(
        file=io.BytesIO(b"{}"), config={"mime_type": "application/json", "display_name": "j"}
    )
    assert g.display_name == "j" and client.files.get(name=g.name).size_bytes == 2
    names = [x.name for x in client.files.list(config={"page_size": 1})]  # the pager follows nextPageToken
    assert {f.name, g.name} <= set(names)
    client.files.delete(name=g.name)
    with pytest.raises(errors.ClientError) as info:
        client.files.get(name=g.name)
    assert info.value.code == 403
    with pytest.raises(errors.ClientError) as info:
        client.files.download(file=f.name)  # uploaded files cannot be downloaded back
    assert info.value.code == 400
    stats = emu.stats()
    assert stats["files"]["count"] >= 1 and stats["requests"]["files.upload"] >= 2


def test_video_processing_then_active_and_file_data(client, clip):
    f = client.files.upload(file=clip, config={"mime_type": "video/mp4"})
    assert f.state == types.FileState.PROCESSING
    part = types.Part.from_uri(file_uri=f.uri, mime_type="video/mp4")
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents=[part, "Describe."])
    assert info.value.code == 400 and "ACTIVE" in info.value.message
    assert wait_active(client, f.name).state == types.FileState.ACTIVE
    by_file = client.models.generate_content(model=MODEL, contents=[part, "Describe."])
    inline = types.Part.from_bytes(data=clip.read_bytes(), mime_type="video/mp4")
    by_bytes = client.models.generate_content(model=MODEL, contents=[inline, "Describe."])
    assert by_file.text == by_bytes.text and "red" in by_file.text and "blue" in by_file.text
    assert by_file.usage_metadata.prompt_token_count == by_bytes.usage_metadata.prompt_token_count
    counted = client.models.count_tokens(
        model=MODEL, contents=[types.Part.from_uri(file_uri=f.name, mime_type="video/mp4")]
    )
    assert counted.total_tokens == by_file.usage_metadata.prompt_token_count - 3  # minus the text part
    missing = types.Part.from_uri(file_uri="files/doesnotexist", mime_type="video/mp4")
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents=[missing])
    assert info.value.code == 403


def test_jsonl_batch_results_file(emu, client):
    note = client.files.upload(file=io.BytesIO(b"some text to read"), config={"mime_type": "text/plain"})
    lines = [
        {
            "key": "a",
            "request": {
                "contents": [{"parts": [{"text": "hi"}]}],
                "generation_config": {"response_mime_type": "application/json"},
            },
        },
        {
            "key": "b",
            "request": {
                "contents": [{"parts": [{"file_data": {"file_uri": note.uri, "mime_type": "text/plain"}}]}]
            },
        },
        {"key": "bad", "request": {"contents": []}},
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    src = client.files.upload(file=io.BytesIO(data), config={"mime_type": "jsonl"})
    job = client.batches.create(model=MODEL, src=src.name, config={"display_name": "jsonl"})
    assert job.state == types.JobState.JOB_STATE_PENDING
    job = wait_done(client, job.name)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.dest.file_name.startswith("files/") and job.dest.inlined_responses is None
    results = client.files.get(name=job.dest.file_name)
    assert results.source == types.FileSource.GENERATED and results.download_uri
    out = [json.loads(x) for x in client.files.download(file=job.dest.file_name).decode().splitlines()]
    by_key = {x["key"]: x for x in out}
    assert [x["key"] for x in out] == ["a", "b", "bad"]
    assert set(json.loads(by_key["a"]["response"]["candidates"][0]["content"]["parts"][0]["text"])) >= {
        "summary"
    }
    resp = types.GenerateContentResponse._from_response(response=by_key["b"]["response"], kwargs={})
    assert resp.text == "A text document of 17 characters."
    assert by_key["bad"]["error"]["code"] == 3 and "response" not in by_key["bad"]
    assert job.name in emu.stats()["batch_job_names"]
    with pytest.raises(errors.ClientError) as info:
        client.batches.create(model=MODEL, src="files/nosuchfile")
    assert info.value.code == 403
    broken = client.files.upload(file=io.BytesIO(b"{not json\n"), config={"mime_type": "jsonl"})
    with pytest.raises(errors.ClientError) as info:
        client.batches.create(model=MODEL, src=broken.name)
    assert info.value.code == 400 and "line 1" in info.value.message


def big_text(n_tokens: int) -> str:
    return ("colour bars " * n_tokens)[: n_tokens * 4]


def test_cache_lifecycle_and_usage(emu, client):
    with pytest.raises(errors.ClientError) as info:
        client.caches.create(
            model=MODEL, config=types.CreateCachedContentConfig(contents=["too small"], ttl="60s")
        )
    assert info.value.code == 400 and "min_total_token_count=4096" in info.value.message
    cfg = types.CreateCachedContentConfig(
        contents=[big_text(4200)], system_instruction="Answer briefly.", ttl="300s", display_name="ctx"
    )
    cache = client.caches.create(model=MODEL, config=cfg)
    assert cache.name.startswith("cachedContents/") and cache.model == f"models/{MODEL}"
    # 4200 tokens of text + "Answer briefly." (15 characters: ceil(15 / 4) = 4 tokens)
    assert cache.usage_metadata.total_token_count == 4200 + 4 and cache.display_name == "ctx"
    assert 290 <= (cache.expire_time - cache.create_time).total_seconds() <= 301
    assert client.caches.get(name=cache.name).name == cache.name
    assert cache.name in [c.name for c in client.caches.list()]
    resp = client.models.generate_content(
        model=MODEL, contents="What is cached?", config=types.GenerateContentConfig(cached_content=cache.name)
    )
    usage = resp.usage_metadata
    assert usage.cached_content_token_count == 4204
    assert usage.prompt_token_count >= 4204 + 3
    assert {d.modality.value: d.token_count for d in usage.cache_tokens_details} == {"TEXT": 4204}
    assert emu.stats()["tokens"]["cached_by_modality"]["TEXT"] >= 4204
    with pytest.raises(errors.ClientError) as info:  # a cache belongs to one model
        client.models.generate_content(
            model=LITE,
            contents="x",
            config=types.GenerateContentConfig(cached_content=cache.name),
        )
    assert info.value.code == 400
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(
            model=MODEL,
            contents="x",
            config=types.GenerateContentConfig(cached_content=cache.name, system_instruction="no"),
        )
    assert info.value.code == 400
    client.caches.delete(name=cache.name)
    with pytest.raises(errors.ClientError) as info:
        client.caches.get(name=cache.name)
    assert info.value.code == 403


def test_cache_expires(client):
    cfg = types.CreateCachedContentConfig(contents=[big_text(4100)], ttl="0.3s")
    cache = client.caches.create(model=MODEL, config=cfg)
    time.sleep(0.4)
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(
            model=MODEL, contents="x", config=types.GenerateContentConfig(cached_content=cache.name)
        )
    assert info.value.code == 403 and "CachedContent not found" in info.value.message


def test_cache_minimum_and_support_per_model(client):
    # 2.5 Flash-Lite: 2,048 tokens minimum (caching page); 2100 tokens of text is enough there
    small = client.caches.create(
        model=LITE, config=types.CreateCachedContentConfig(contents=[big_text(2100)])
    )
    assert small.usage_metadata.total_token_count == 2100
    with pytest.raises(errors.ClientError) as info:  # ... and not on 3.8 Flash (4,096)
        client.caches.create(model=MODEL, config=types.CreateCachedContentConfig(contents=[big_text(2100)]))
    assert info.value.code == 400 and "min_total_token_count=4096" in info.value.message
    for model in ("gemini-4-argon", "gemini-4-hydrogen"):  # Gemini 4: implicit caching only
        with pytest.raises(errors.ClientError) as info:
            client.caches.create(
                model=model, config=types.CreateCachedContentConfig(contents=[big_text(5000)])
            )
        assert info.value.code == 400
        assert info.value.message == f"explicit context caching is not supported for models/{model}"


def test_cache_min_tokens_override():
    with GeminiEmulator(EmulatorConfig(cache_min_tokens=10)) as emu:
        c = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emu.base_url))
        cache = c.caches.create(model=MODEL, config=types.CreateCachedContentConfig(contents=[big_text(12)]))
        assert cache.usage_metadata.total_token_count == 12
        with pytest.raises(errors.ClientError) as info:  # the override sets a size, not support
            c.caches.create(
                model="gemini-4-argon", config=types.CreateCachedContentConfig(contents=[big_text(12)])
            )
        assert info.value.code == 400


def test_upload_protocol_raw(emu):
    """The wire protocol itself: start -> session URL, two chunks, offsets checked, final status."""
    h = {
        "x-goog-api-key": "k",
        "X-Goog-Upload-Protocol": "resumable",
        "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": "6",
        "X-Goog-Upload-Header-Content-Type": "text/plain",
    }
    with httpx.Client() as http:
        start = http.post(
            f"{emu.base_url}/upload/v1beta/files", headers=h, json={"file": {"display_name": "raw"}}
        )
        assert start.status_code == 200 and start.headers["x-goog-upload-status"] == "active"
        url = start.headers["x-goog-upload-url"]
        assert url.startswith("http://") and "upload_id=" in url
        one = http.post(
            url, content=b"abc", headers={"X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"}
        )
        assert one.status_code == 200 and one.headers["x-goog-upload-status"] == "active"
        bad = http.post(
            url,
            content=b"def",
            headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "1"},
        )
        assert bad.status_code == 400 and bad.headers["x-goog-upload-status"] == "final"
        two = http.post(
            url,
            content=b"def",
            headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "3"},
        )
        assert two.headers["x-goog-upload-status"] == "final"
        f = two.json()["file"]
        assert f["sizeBytes"] == "6" and f["displayName"] == "raw" and f["state"] == "ACTIVE"
        no_key = http.post(
            f"{emu.base_url}/upload/v1beta/files",
            headers={k: v for k, v in h.items() if k != "x-goog-api-key"},
        )
        assert no_key.status_code == 403


def test_file_store_cap():
    with GeminiEmulator(EmulatorConfig(files_max_bytes=10)) as small:
        c = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=small.base_url))
        c.files.upload(file=io.BytesIO(b"12345678"), config={"mime_type": "text/plain"})
        with pytest.raises(errors.ClientError) as info:
            c.files.upload(file=io.BytesIO(b"12345678"), config={"mime_type": "text/plain"})
        assert info.value.code == 429
        assert small.stats()["files"] == {**small.stats()["files"], "count": 1, "bytes": 8}
