"""Contract tests: the Gemini emulator (an offline test double) against the SDK's own types.

Responses: the raw JSON the emulator sends, fetched with httpx, must parse into the google-genai type
(through the SDK's `_from_mldev` converter where it has one) with no key lost: every key path of the JSON
(camelCase -> snake_case, converter renames applied) must be present in the parsed model's
`model_dump(exclude_none=True)`. Keys the SDK is known to drop are listed in DROPPED with the reason.
Requests: what the SDK sends for the pipeline's calls must match the shapes in the reference doc.
"""

from __future__ import annotations

import io
import json
import re
import time

import httpx
import pytest
from google import genai
from google.genai import batches as sdk_batches
from google.genai import caches as sdk_caches
from google.genai import errors, types
from google.genai import files as sdk_files
from google.genai import models as sdk_models
from PIL import Image

from gemini_emulator import EmulatorConfig, GeminiEmulator
from gemini_emulator.wire import normalise
from pipeline.infer import requests as pipeline_requests
from pipeline.infer.requests import ChunkRequest
from pipeline.tasks import DESCRIBE

MODEL = "gemini-3.8-flash"
MODEL_2X = "gemini-2.5-flash-lite"
HEADERS = {"x-goog-api-key": "k"}
# Sent because the real API sends them; google-genai 3.6.1 does not read them. Batches: the
# long-running-operation envelope (batchStats is not surfaced, reference doc). countTokens: the REST
# CountTokensResponse has promptTokensDetails, the SDK type has no such field.
DROPPED = {
    "batch": {
        "done",
        "error",
        "metadata.@type",
        "metadata.name",
        "metadata.batch_stats",
        "metadata.input_config",
    },
    "count_tokens": {"prompt_tokens_details"},
}
# Where the SDK's batch converter moves keys (prefix renames, longest first).
BATCH_RENAMES = [
    ("metadata.output.inlined_responses.inlined_responses", "dest.inlined_responses"),
    ("metadata.output.responses_file", "dest.file_name"),
    ("metadata.", ""),
]
BATCH_ENVELOPE = {"metadata", "metadata.output", "metadata.output.inlined_responses"}  # containers only
VERBATIM = {"metadata"}  # dict[str, Any] fields below the top level (request metadata): user keys


def snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def paths(obj, prefix: str = "", convert: bool = True) -> set[str]:
    out: set[str] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            name = snake(key) if convert and not key.startswith("@") else key
            path = f"{prefix}{name}"
            out.add(path)
            out |= paths(value, path + ".", convert and not (prefix and name in VERBATIM))
    elif isinstance(obj, list):
        for value in obj:
            out |= paths(value, prefix, convert)
    return out


def assert_no_loss(
    raw: dict, model, renames=(), dropped: set[str] = frozenset(), envelope=frozenset()
) -> None:
    parsed = paths(model.model_dump(exclude_none=True, mode="json"))
    missing = []
    for path in sorted(paths(raw)):
        if path in envelope or any(path == d or path.startswith(d + ".") for d in dropped):
            continue
        for old, new in renames:
            if path.startswith(old):
                path = new + path[len(old) :]
                break
        if path and path not in parsed:
            missing.append(path)
    assert not missing, f"keys the SDK type lost: {missing}"


def gcr(raw: dict) -> types.GenerateContentResponse:
    converted = sdk_models._GenerateContentResponse_from_mldev(raw)
    return types.GenerateContentResponse._from_response(response=converted, kwargs={})


def batch_job(raw: dict) -> types.BatchJob:
    return types.BatchJob._from_response(response=sdk_batches._BatchJob_from_mldev(raw), kwargs={})


@pytest.fixture(scope="module")
def emu():
    cfg = EmulatorConfig(
        batch_pending_s=0.05,
        batch_running_s=0.1,
        file_processing_s=0.0,
        cache_min_tokens=10,
        request_log_clip=None,  # whole bodies: the JSONL test compares them
    )
    with GeminiEmulator(cfg) as e:
        yield e


@pytest.fixture(scope="module")
def client(emu):
    return genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emu.base_url))


@pytest.fixture(scope="module")
def http(emu):
    with httpx.Client(base_url=emu.base_url, headers=HEADERS) as h:
        yield h


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (220, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def chunk(key: str = "k1") -> ChunkRequest:
    return ChunkRequest(key, "s3://b/img.png", 0, 0.0, 0.0, "image/png", png_bytes())


def last(emu, pred) -> dict:
    return next(r for r in reversed(emu.recorded_requests()) if pred(r))


def wait_done(http, name: str) -> dict:
    deadline = time.monotonic() + 10
    raw = http.get(f"/v1beta/{name}").json()
    while not raw["done"] and time.monotonic() < deadline:
        time.sleep(0.03)
        raw = http.get(f"/v1beta/{name}").json()
    return raw


def test_generate_content_and_count_tokens(emu, client, http):
    cfg = pipeline_requests.generation_config(DESCRIBE, MODEL, media_resolution="MEDIA_RESOLUTION_LOW")
    client.models.generate_content(
        model=MODEL, contents=pipeline_requests.contents(DESCRIBE, chunk(), MODEL), config=cfg
    )
    body = last(emu, lambda r: r["path"].endswith(":generateContent"))["body"]
    # the pipeline's 3.x request as the SDK sends it: media resolution on the part, the task's thinking
    # level, a JSON schema, room for thoughts and answer, and no sampling parameter
    part = body["contents"][0]["parts"][0]
    assert body["contents"][0]["role"] == "user" and "inlineData" in part
    assert part["mediaResolution"] == {"level": "MEDIA_RESOLUTION_LOW"}
    gen_cfg = body["generationConfig"]
    assert gen_cfg["responseMimeType"] == "application/json" and "responseJsonSchema" in gen_cfg
    assert "mediaResolution" not in gen_cfg
    assert normalise(gen_cfg["thinkingConfig"]) == {"thinkingLevel": "LOW"}
    # 2048 for the answer + 4096 of room for LOW thinking (pipeline/catalog/models.json)
    assert gen_cfg["maxOutputTokens"] == 2048 + 4096
    assert not {"temperature", "topP", "topK"} & set(gen_cfg)
    raw = http.post(f"/v1beta/models/{MODEL}:generateContent", json=body).json()
    resp = gcr(raw)
    assert resp.usage_metadata.prompt_token_count == raw["usageMetadata"]["promptTokenCount"]
    assert_no_loss(raw, resp)
    raw = http.post(f"/v1beta/models/{MODEL}:countTokens", json={"contents": body["contents"]}).json()
    counted = types.CountTokensResponse._from_response(
        response=sdk_models._CountTokensResponse_from_mldev(raw), kwargs={}
    )
    assert counted.total_tokens == raw["totalTokens"]
    assert_no_loss(raw, counted, dropped=DROPPED["count_tokens"])


def test_fault_and_cache_shapes(emu, http):
    emu.set_faults({"safety_block": 1.0})
    try:
        raw = http.post(
            f"/v1beta/models/{MODEL}:generateContent", json={"contents": [{"parts": [{"text": "x"}]}]}
        ).json()
    finally:
        emu.set_faults({})
    assert_no_loss(raw, gcr(raw))
    emu.set_faults({"http_429": 1.0})
    try:
        r = http.post(
            f"/v1beta/models/{MODEL}:generateContent", json={"contents": [{"parts": [{"text": "x"}]}]}
        )
    finally:
        emu.set_faults({})
    err = errors.APIError(r.status_code, r.json())
    assert (err.code, err.status) == (429, "RESOURCE_EXHAUSTED")
    assert r.json()["error"]["details"][-1] == {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "2s",
    }
    cache_body = {
        "model": f"models/{MODEL}",
        "contents": [{"role": "user", "parts": [{"text": "t" * 200}]}],
        "ttl": "60s",
    }
    raw = http.post("/v1beta/cachedContents", json=cache_body).json()
    cache = types.CachedContent._from_response(response=raw, kwargs={})
    assert_no_loss(raw, cache)
    raw = http.get(f"/v1beta/{cache.name}").json()
    assert_no_loss(raw, types.CachedContent._from_response(response=raw, kwargs={}))
    raw = http.get("/v1beta/cachedContents").json()
    listed = types.ListCachedContentsResponse._from_response(
        response=sdk_caches._ListCachedContentsResponse_from_mldev(raw), kwargs={}
    )
    assert_no_loss(raw, listed)
    body = {"contents": [{"parts": [{"text": "q"}]}], "cachedContent": cache.name}
    raw = http.post(f"/v1beta/models/{MODEL}:generateContent", json=body).json()
    assert raw["usageMetadata"]["cachedContentTokenCount"] == 50
    assert_no_loss(raw, gcr(raw))


def test_a_2x_request_sets_resolution_and_a_thinking_budget_for_the_whole_request(emu, client):
    cfg = pipeline_requests.generation_config(DESCRIBE, MODEL_2X, media_resolution="MEDIA_RESOLUTION_LOW")
    client.models.generate_content(
        model=MODEL_2X, contents=pipeline_requests.contents(DESCRIBE, chunk(), MODEL_2X), config=cfg
    )
    body = last(emu, lambda r: r["path"].endswith(":generateContent"))["body"]
    assert "mediaResolution" not in body["contents"][0]["parts"][0]
    gen_cfg = body["generationConfig"]
    assert gen_cfg["mediaResolution"] == "MEDIA_RESOLUTION_LOW"
    assert normalise(gen_cfg["thinkingConfig"]) == {"thinkingBudget": 1024}  # LOW on a budget family


def test_a_jsonl_line_is_the_request_the_sdk_sends_inline(emu, client):
    """File batches build their lines from the same SDK objects (public pydantic serialisation): the
    emulator must receive the same request from both transports."""
    cfg = pipeline_requests.generation_config(DESCRIBE, MODEL, media_resolution="MEDIA_RESOLUTION_LOW")
    body = pipeline_requests.contents(DESCRIBE, chunk(), MODEL)
    client.models.generate_content(model=MODEL, contents=body, config=cfg)
    sent = last(emu, lambda r: r["path"].endswith(":generateContent"))["body"]
    line = pipeline_requests.rest_request(body, cfg)
    normal = lambda doc: normalise(json.loads(json.dumps(doc)))  # noqa: E731
    assert normal(line["contents"]) == normal(sent["contents"])
    assert normal(line["generationConfig"]) == normal(sent["generationConfig"])


def test_batch_shapes_and_requests(emu, client, http):
    cfg = pipeline_requests.generation_config(DESCRIBE, MODEL, media_resolution="MEDIA_RESOLUTION_LOW")
    inlined = [
        types.InlinedRequest(
            contents=pipeline_requests.contents(DESCRIBE, chunk(k), MODEL), config=cfg, metadata={"key": k}
        )
        for k in ("k1", "k2")
    ]
    job = client.batches.create(
        model=MODEL, src=inlined, config=types.CreateBatchJobConfig(display_name="contract")
    )
    sent = last(emu, lambda r: r["path"].endswith(":batchGenerateContent"))["body"]
    reqs = sent["batch"]["inputConfig"]["requests"]["requests"]
    assert sent["batch"]["displayName"] == "contract"
    assert [r["metadata"]["key"] for r in reqs] == ["k1", "k2"]
    assert all("contents" in r["request"] and "generationConfig" in r["request"] for r in reqs)
    raw = wait_done(http, job.name)
    assert raw["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    assert_no_loss(raw, batch_job(raw), BATCH_RENAMES, DROPPED["batch"], BATCH_ENVELOPE)
    raw = http.get("/v1beta/batches", params={"pageSize": 5}).json()
    listed = types.ListBatchJobsResponse._from_response(
        response=sdk_batches._ListBatchJobsResponse_from_mldev(raw), kwargs={}
    )
    assert listed.batch_jobs
    for op in raw["operations"]:
        assert_no_loss(op, batch_job(op), BATCH_RENAMES, DROPPED["batch"], BATCH_ENVELOPE)
    # JSONL source: batch.inputConfig.fileName, output.responsesFile
    line = {"key": "j1", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}
    src = client.files.upload(file=io.BytesIO(json.dumps(line).encode()), config={"mime_type": "jsonl"})
    job = client.batches.create(model=MODEL, src=src.name)
    sent = last(emu, lambda r: r["path"].endswith(":batchGenerateContent"))["body"]
    assert sent["batch"]["inputConfig"] == {"fileName": src.name}
    raw = wait_done(http, job.name)
    assert raw["metadata"]["output"] == {"responsesFile": batch_job(raw).dest.file_name}
    assert_no_loss(raw, batch_job(raw), BATCH_RENAMES, DROPPED["batch"], BATCH_ENVELOPE)
    result = json.loads(
        http.get(
            f"/v1beta/{raw['metadata']['output']['responsesFile']}:download", params={"alt": "media"}
        ).content
    )
    assert result["key"] == "j1"
    assert_no_loss(result["response"], gcr(result["response"]))


def test_file_shapes_and_upload_requests(emu, client, http):
    f = client.files.upload(
        file=io.BytesIO(png_bytes()), config={"mime_type": "image/png", "display_name": "p"}
    )
    start = last(emu, lambda r: r["path"].startswith("/upload/") and "body" in r)
    assert start["headers"]["x-goog-upload-protocol"] == "resumable"
    assert start["headers"]["x-goog-upload-command"] == "start"
    assert start["headers"]["x-goog-upload-header-content-type"] == "image/png"
    assert int(start["headers"]["x-goog-upload-header-content-length"]) == f.size_bytes
    assert start["body"] == {
        "file": {"display_name": "p", "mime_type": "image/png", "size_bytes": f.size_bytes}
    }
    final = last(emu, lambda r: r["path"].startswith("/upload/") and "bytes" in r)
    assert final["headers"]["x-goog-upload-command"] == "upload, finalize"
    assert final["headers"]["x-goog-upload-offset"] == "0"
    raw = http.get(f"/v1beta/{f.name}").json()
    assert_no_loss(raw, types.File._from_response(response=raw, kwargs={}))
    raw = http.get("/v1beta/files", params={"pageSize": 100}).json()
    listed = types.ListFilesResponse._from_response(
        response=sdk_files._ListFilesResponse_from_mldev(raw), kwargs={}
    )
    assert_no_loss(raw, listed)
    client.models.generate_content(
        model=MODEL, contents=[types.Part.from_uri(file_uri=f.uri, mime_type="image/png")]
    )
    body = last(emu, lambda r: r["path"].endswith(":generateContent"))["body"]
    file_data = body["contents"][0]["parts"][0]["fileData"]  # the SDK sends the inner keys in snake_case
    assert {snake(k): v for k, v in file_data.items()} == {"file_uri": f.uri, "mime_type": "image/png"}
    cfg = types.CreateCachedContentConfig(contents=["c" * 80], system_instruction="sys", ttl="300s")
    cache = client.caches.create(model=MODEL, config=cfg)
    sent = last(emu, lambda r: r["path"].endswith("/cachedContents"))["body"]
    assert sent["model"] == f"models/{MODEL}" and sent["ttl"] == "300s"
    assert sent["systemInstruction"]["parts"] == [{"text": "sys"}] and sent["contents"][0]["parts"] == [
        {"text": "c" * 80}
    ]
    client.models.generate_content(
        model=MODEL, contents="q", config=types.GenerateContentConfig(cached_content=cache.name)
    )
    assert last(emu, lambda r: r["path"].endswith(":generateContent"))["body"]["cachedContent"] == cache.name
