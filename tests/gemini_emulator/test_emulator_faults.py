"""Rate limits, latency and seeded fault injection of the Gemini emulator (an offline test double)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

try:  # google-genai 3.x sends through httpx2 (a fork of httpx) when it is installed
    import httpx2
except ImportError:  # pragma: no cover
    httpx2 = httpx

from google import genai
from google.genai import errors, types

from gemini_emulator import EmulatorConfig, FaultSpec, GeminiEmulator

MODEL = "gemini-3.8-flash"
JSON_CFG = types.GenerateContentConfig(response_mime_type="application/json")


def make(**kw) -> GeminiEmulator:
    kw.setdefault("batch_pending_s", 0.05)
    kw.setdefault("batch_running_s", 0.1)
    return GeminiEmulator(EmulatorConfig(**kw)).start()


def client_for(emu: GeminiEmulator, **opts) -> genai.Client:
    return genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emu.base_url, **opts))


def retry_delay(exc: errors.APIError) -> str:
    details = exc.details["error"]["details"]
    return next(d["retryDelay"] for d in details if d["@type"].endswith("google.rpc.RetryInfo"))


def wait_done(client, name: str) -> types.BatchJob:
    deadline = time.monotonic() + 10
    job = client.batches.get(name=name)
    while not job.done and time.monotonic() < deadline:
        time.sleep(0.03)
        job = client.batches.get(name=name)
    return job


def test_rpm_limit_per_model_with_retry_info():
    emu = make(rpm_limit=2)
    try:
        c = client_for(emu)
        c.models.generate_content(model=MODEL, contents="a")
        c.models.count_tokens(model=MODEL, contents="b")
        with pytest.raises(errors.ClientError) as info:
            c.models.generate_content(model=MODEL, contents="c")
        assert info.value.code == 429 and info.value.status == "RESOURCE_EXHAUSTED"
        assert retry_delay(info.value).endswith("s") and 1 <= int(retry_delay(info.value)[:-1]) <= 60
        c.models.generate_content(model="gemini-2.5-flash-lite", contents="other model, own window")
        stats = emu.stats()
        assert stats["http_429_sent"] == 1 and stats["rate_limited"] == 1
        assert stats["requests_by_model"][MODEL] == 3
    finally:
        emu.stop()


def test_tpm_limit_counts_prompt_tokens():
    emu = make(tpm_limit=10)
    try:
        c = client_for(emu)
        c.models.generate_content(model=MODEL, contents="x" * 32)  # 8 prompt tokens
        with pytest.raises(errors.ClientError) as info:
            c.models.generate_content(model=MODEL, contents="y" * 32)
        assert info.value.code == 429 and "input tokens per minute" in info.value.message
        assert emu.stats()["tokens"]["prompt"] == 8  # the refused request is not billed
    finally:
        emu.stop()


def test_latency():
    emu = make(latency_s=0.3)
    try:
        c = client_for(emu)  # keep a reference: a collected Client closes its HTTP pool
        t0 = time.monotonic()
        c.models.generate_content(model=MODEL, contents="slow")
        assert time.monotonic() - t0 >= 0.3
    finally:
        emu.stop()


def test_env_config(monkeypatch):
    monkeypatch.setenv("GEMINI_EMULATOR_RPM", "7")
    monkeypatch.setenv("GEMINI_EMULATOR_TPM", "1000")
    monkeypatch.setenv("GEMINI_EMULATOR_LATENCY_S", "0.25")
    monkeypatch.setenv("GEMINI_EMULATOR_FAULTS", '{"http_500": 0.1, "batch_state": "FAILED", "seed": 3}')
    cfg = EmulatorConfig()
    assert (cfg.rpm_limit, cfg.tpm_limit, cfg.latency_s) == (7, 1000, 0.25)
    spec = FaultSpec.parse(cfg.faults)
    assert spec.rates == {"http_500": 0.1} and spec.batch_state == "FAILED" and spec.seed == 3
    with pytest.raises(ValueError):
        FaultSpec.parse({"http_999": 0.1})
    with pytest.raises(ValueError):
        FaultSpec.parse({"batch_state": "DONE"})


def outcomes(seed: int, n: int = 30) -> list[int]:
    emu = make(faults={"http_429": 0.2, "http_500": 0.2, "seed": seed})
    try:
        c = client_for(emu)
        codes = []
        for i in range(n):
            try:
                c.models.generate_content(model=MODEL, contents=f"q{i}")
                codes.append(200)
            except errors.APIError as exc:
                codes.append(exc.code)
                if exc.code == 429:
                    assert retry_delay(exc) == "2s"
        stats = emu.stats()
        assert stats["faults_injected"].get("http_429", 0) == codes.count(429) == stats["http_429_sent"]
        assert stats["faults_injected"].get("http_500", 0) == codes.count(500)
        return codes
    finally:
        emu.stop()


def test_http_faults_are_seeded():
    first = outcomes(seed=1)
    assert first == outcomes(seed=1)
    assert {200, 429, 500} <= set(first)


def test_timeout_fault_closes_the_connection():
    emu = make(faults={"timeout": 1.0, "timeout_s": 0.2})
    try:
        c, impatient = client_for(emu), client_for(emu, timeout=300)
        t0 = time.monotonic()
        with pytest.raises((httpx.RemoteProtocolError, httpx2.RemoteProtocolError)):
            c.models.generate_content(model=MODEL, contents="hang")
        assert 0.2 <= time.monotonic() - t0 < 5
        emu.set_faults({"timeout": 1.0, "timeout_s": 2.0})
        with pytest.raises((httpx.ReadTimeout, httpx2.ReadTimeout)):  # a client timeout shorter than the hold
            impatient.models.generate_content(model=MODEL, contents="hang")
        assert emu.stats()["faults_injected"]["timeout"] == 2
    finally:
        emu.stop()


def test_content_faults():
    emu = make(faults={"malformed_json": 1.0})
    try:
        c = client_for(emu)
        resp = c.models.generate_content(model=MODEL, contents="j", config=JSON_CFG)
        assert resp.candidates[0].finish_reason == types.FinishReason.STOP
        with pytest.raises(json.JSONDecodeError):
            json.loads(resp.text)
        emu.set_faults({"max_tokens": 1.0})
        resp = c.models.generate_content(model=MODEL, contents="j", config=JSON_CFG)
        assert resp.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
        assert resp.usage_metadata.candidates_token_count == -(-len(resp.text) // 4)
        emu.set_faults({"safety_block": 1.0})
        resp = c.models.generate_content(model=MODEL, contents="j", config=JSON_CFG)
        cand = resp.candidates[0]
        assert cand.finish_reason == types.FinishReason.SAFETY and cand.content is None and resp.text is None
        assert any(r.blocked for r in cand.safety_ratings)
        assert (
            resp.usage_metadata.prompt_token_count == 1 and resp.usage_metadata.candidates_token_count is None
        )
        assert emu.stats()["faults_injected"] == {"malformed_json": 1, "max_tokens": 1, "safety_block": 1}
    finally:
        emu.stop()


def test_batch_item_error_fault():
    emu = make(faults={"batch_item_error": 0.5, "seed": 2})
    try:
        c = client_for(emu)
        src = [{"contents": f"item {i}", "metadata": {"key": str(i)}} for i in range(10)]
        job = wait_done(c, c.batches.create(model=MODEL, src=src).name)
        assert job.state == types.JobState.JOB_STATE_SUCCEEDED
        errs = [r for r in job.dest.inlined_responses if r.error is not None]
        assert 0 < len(errs) < 10 and all(r.error.code == 13 and r.response is None for r in errs)
        assert emu.stats()["faults_injected"]["batch_item_error"] == len(errs)
    finally:
        emu.stop()


@pytest.mark.parametrize("state", ["FAILED", "EXPIRED", "CANCELLED"])
def test_batch_state_fault(state):
    emu = make(faults={"batch_state": state})
    try:
        c = client_for(emu)
        job = wait_done(c, c.batches.create(model=MODEL, src=[{"contents": "x"}]).name)
        assert job.state == getattr(types.JobState, f"JOB_STATE_{state}") and job.done
        assert job.dest is None and job.end_time is not None
        raw = httpx.get(f"{emu.base_url}/v1beta/{job.name}", headers={"x-goog-api-key": "k"}).json()
        assert raw["done"] and state in raw["error"]["message"]
        assert emu.stats()["tokens"]["prompt"] == 0
    finally:
        emu.stop()


def test_stats_reset_and_fault_endpoint():
    emu = make()
    try:
        c = client_for(emu)
        c.models.generate_content(model=MODEL, contents="before reset")
        r = httpx.post(f"{emu.base_url}/_emulator/faults", json={"spec": {"http_500": 1.0}})
        assert r.status_code == 200
        with pytest.raises(errors.ServerError):
            c.models.generate_content(model=MODEL, contents="x")
        assert httpx.post(f"{emu.base_url}/_emulator/faults", json={"spec": {"nope": 1}}).status_code == 400
        assert httpx.post(f"{emu.base_url}/_emulator/reset").json() == {"ok": True}
        emu.set_faults({})
        stats = httpx.get(f"{emu.base_url}/_emulator/stats").json()
        assert stats["requests_total"] == 0 and stats["files"]["count"] == 0 and stats["caches"]["count"] == 0
        c.models.generate_content(model=MODEL, contents="after")
        recorded = httpx.get(f"{emu.base_url}/_emulator/requests").json()["requests"]
        assert recorded[-1]["path"] == f"/v1beta/models/{MODEL}:generateContent" or recorded[-1][
            "path"
        ].endswith(f"models/{MODEL}:generateContent")
    finally:
        emu.stop()


def quota_failure(exc: errors.APIError) -> dict:
    details = exc.details["error"]["details"]
    return next(d for d in details if d["@type"].endswith("google.rpc.QuotaFailure"))


def test_http_503_and_daily_quota_faults():
    emu = make(faults={"http_503": 1.0})
    try:
        c = client_for(emu)
        with pytest.raises(errors.ServerError) as info:
            c.models.generate_content(model=MODEL, contents="busy")
        assert (info.value.code, info.value.status) == (503, "UNAVAILABLE")
        assert info.value.message == "The model is overloaded. Please try again later."
        emu.set_faults({"daily_quota": 1.0})
        with pytest.raises(errors.ClientError) as info:
            c.models.generate_content(model=MODEL, contents="again")
        exc = info.value
        assert (exc.code, exc.status) == (429, "RESOURCE_EXHAUSTED")
        assert exc.message.startswith(
            "You exceeded your current quota, please check your plan and billing details."
        )
        violation = quota_failure(exc)["violations"][0]
        assert violation["quotaId"] == "GenerateRequestsPerDayPerProjectPerModel"
        assert violation["quotaMetric"] == "generativelanguage.googleapis.com/generate_content_requests"
        assert violation["quotaDimensions"]["model"] == MODEL
        with pytest.raises(StopIteration):  # a daily quota has no retry delay worth waiting for
            retry_delay(exc)
        assert emu.stats()["faults_injected"] == {"http_503": 1, "daily_quota": 1}
    finally:
        emu.stop()


def test_manual_503_and_daily_quota():
    emu = make()
    try:
        c = client_for(emu)
        emu.inject_fault(503)
        with pytest.raises(errors.ServerError) as info:
            c.models.generate_content(model=MODEL, contents="x")
        assert info.value.code == 503 and "overloaded" in info.value.message
        emu.inject_fault(429, daily=True, match=":generateContent")
        with pytest.raises(errors.ClientError) as info:
            c.models.generate_content(model=MODEL, contents="x")
        assert (
            quota_failure(info.value)["violations"][0]["quotaId"]
            == "GenerateRequestsPerDayPerProjectPerModel"
        )
        emu.inject_fault(429)  # the plain one still says when to retry
        with pytest.raises(errors.ClientError) as info:
            c.models.generate_content(model=MODEL, contents="x")
        assert retry_delay(info.value) == "2s"
        r = httpx.post(f"{emu.base_url}/_emulator/faults", json={"code": 429, "daily": True})
        assert r.status_code == 200
        with pytest.raises(errors.ClientError) as info:
            c.models.count_tokens(model=MODEL, contents="x")
        assert quota_failure(info.value)["violations"][0]["quotaDimensions"]["model"] == MODEL
        assert c.models.generate_content(model=MODEL, contents="x").text
    finally:
        emu.stop()


def test_continuation_fault_followed_by_the_sdk():
    """The SDK's automatic continuation sends the token back and sums usage: the caller sees one answer,
    billed for the prompt once per hop and for its thoughts once."""
    plain, cut = make(), make(faults={"continuation": 1.0})
    try:
        contents = "continue me, please"  # 19 characters: ceil(19 / 4) = 5 prompt tokens per hop
        reference, c = (
            client_for(plain),
            client_for(cut),
        )  # keep references: a collected Client closes its pool
        whole = reference.models.generate_content(model=MODEL, contents=contents, config=JSON_CFG)
        resp = c.models.generate_content(model=MODEL, contents=contents, config=JSON_CFG)
        assert resp.text == whole.text and json.loads(resp.text)
        assert resp.candidates[0].finish_reason == types.FinishReason.STOP
        assert resp.candidates[0].continuation_token is None
        first, rest = whole.text[: len(whole.text) // 2], whole.text[len(whole.text) // 2 :]
        usage = resp.usage_metadata
        assert usage.prompt_token_count == 2 * 5
        assert usage.candidates_token_count == -(-len(first) // 4) + -(-len(rest) // 4)
        assert usage.thoughts_token_count == whole.usage_metadata.thoughts_token_count  # same request, once
        assert usage.total_token_count == 10 + usage.candidates_token_count + usage.thoughts_token_count
        stats = cut.stats()
        assert stats["requests"]["generateContent"] == 2 and stats["faults_injected"] == {"continuation": 1}
        assert stats["tokens"]["prompt"] == 10
    finally:
        plain.stop()
        cut.stop()


def test_continuation_by_hand_and_token_checks():
    emu = make(faults={"continuation": 1.0})
    try:
        c = client_for(emu)
        manual = types.GenerateContentConfig(automatic_continuation=False)
        hop1 = c.models.generate_content(model=MODEL, contents="tell me more", config=manual)
        cand = hop1.candidates[0]
        assert cand.finish_reason == types.FinishReason.CONTINUATION
        token = cand.continuation_token
        assert isinstance(token, bytes) and len(token) >= 16
        assert hop1.usage_metadata.candidates_token_count == -(-len(hop1.text) // 4)
        hop2 = c.models.generate_content(
            model=MODEL,
            contents="tell me more",
            config=types.GenerateContentConfig(automatic_continuation=False, continuation_token=token),
        )
        assert hop2.candidates[0].finish_reason == types.FinishReason.STOP
        assert 'Emulated answer to a text-only prompt: "tell me more".' == hop1.text + hop2.text
        assert hop2.usage_metadata.thoughts_token_count is None  # the thinking was done on the first hop
        assert hop2.usage_metadata.prompt_token_count == hop1.usage_metadata.prompt_token_count
        for contents, bad in (("another request", token), ("tell me more", b"forged-token-bytes")):
            with pytest.raises(errors.ClientError) as info:
                c.models.generate_content(
                    model=MODEL,
                    contents=contents,
                    config=types.GenerateContentConfig(automatic_continuation=False, continuation_token=bad),
                )
            assert info.value.code == 400 and "continuation_token" in info.value.message
        raw = httpx.post(
            f"{emu.base_url}/v1beta/models/{MODEL}:generateContent",
            headers={"x-goog-api-key": "k"},
            json={"contents": [{"parts": [{"text": "raw"}]}]},
        ).json()
        assert raw["candidates"][0]["finishReason"] == "CONTINUATION"
        assert isinstance(raw["candidates"][0]["continuationToken"], str)  # bytes: base64 in JSON
    finally:
        emu.stop()


def test_continuation_fault_in_batch_leaves_partial_items():
    emu = make(faults={"continuation": 1.0})
    try:
        c = client_for(emu)
        job = wait_done(c, c.batches.create(model=MODEL, src=[{"contents": "batch item"}]).name)
        resp = job.dest.inlined_responses[0].response
        assert resp.candidates[0].finish_reason == types.FinishReason.CONTINUATION
        assert resp.candidates[0].continuation_token is None  # batch has no continuation
        whole = 'Emulated answer to a text-only prompt: "batch item".'
        assert resp.text == whole[: len(whole) // 2]
        assert emu.stats()["faults_injected"] == {"continuation": 1}
    finally:
        emu.stop()


def test_content_faults_leave_an_answer_without_text_alone():
    emu = make(faults={"malformed_json": 1.0})
    try:
        c = client_for(emu)  # a limit of 10 is used up by 3.8 Flash's thinking: no text to break
        resp = c.models.generate_content(
            model=MODEL, contents="j", config=types.GenerateContentConfig(max_output_tokens=10)
        )
        assert resp.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS and resp.text is None
        assert emu.stats()["faults_injected"] == {}
    finally:
        emu.stop()
