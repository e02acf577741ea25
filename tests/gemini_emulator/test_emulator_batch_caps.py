"""The emulator's batch caps: unfinished jobs per project and enqueued tokens per model answer a create
429 RESOURCE_EXHAUSTED as the service does, until a job finishes; `batch_expire` ends a job EXPIRED
with part of its answers."""

from __future__ import annotations

import time

import pytest
from google import genai
from google.genai import errors, types

from gemini_emulator import EmulatorConfig, GeminiEmulator

MODEL = "gemini-3.8-flash"


def _client(emu: GeminiEmulator) -> genai.Client:
    return genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emu.base_url))


def _create(client: genai.Client, n: int = 1, name: str = "j") -> types.BatchJob:
    src = [types.InlinedRequest(contents="Say hi", metadata={"key": f"{name}{i}"}) for i in range(n)]
    return client.batches.create(model=MODEL, src=src, config=types.CreateBatchJobConfig(display_name=name))


def _until_done(client: genai.Client, name: str) -> types.BatchJob:
    deadline = time.monotonic() + 20
    while not (job := client.batches.get(name=name)).done:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return job


def test_jobs_in_flight_cap_answers_429_until_a_job_finishes() -> None:
    with GeminiEmulator(EmulatorConfig(batch_pending_s=0.2, batch_running_s=0.3, batch_max_jobs=1)) as emu:
        client = _client(emu)
        first = _create(client, name="a")
        with pytest.raises(errors.ClientError) as refused:
            _create(client, name="b")
        assert refused.value.code == 429 and refused.value.status == "RESOURCE_EXHAUSTED"
        _until_done(client, str(first.name))
        _create(client, name="c")  # the finished job no longer counts
        caps = emu.stats()["batch_caps"]
    assert caps["refused_creates"] == 1 and caps["peak_jobs_in_flight"] == 1
    assert emu.stats()["batch_jobs_created"] == 2


def test_enqueued_token_cap_is_per_model_and_counts_unfinished_jobs() -> None:
    with GeminiEmulator(EmulatorConfig(batch_pending_s=0.2, batch_running_s=0.3)) as probe:
        counter = _client(probe)  # held: a client collected mid-call closes its connection pool
        tokens = counter.models.count_tokens(model=MODEL, contents="Say hi").total_tokens
    assert tokens
    cap = 2 * tokens  # two requests fit, three do not
    with GeminiEmulator(
        EmulatorConfig(batch_pending_s=0.2, batch_running_s=0.3, batch_enqueued_tokens=cap)
    ) as emu:
        client = _client(emu)
        with pytest.raises(errors.ClientError) as refused:
            _create(client, 3, name="big")
        assert refused.value.code == 429
        first = _create(client, 2, name="a")
        with pytest.raises(errors.ClientError):
            _create(client, 1, name="b")  # 2 + 1 enqueued: over
        _until_done(client, str(first.name))
        _create(client, 2, name="c")
        caps = emu.stats()["batch_caps"]
    assert caps["peak_enqueued_tokens"] == {MODEL: cap} and caps["refused_creates"] == 2


def test_an_expired_job_holds_the_answers_it_made_before_it_expired() -> None:
    config = EmulatorConfig(
        batch_pending_s=0.1, batch_running_s=0.1, faults={"batch_expire": 1, "batch_expire_answered": 0.5}
    )
    with GeminiEmulator(config) as emu:
        client = _client(emu)
        expired = _until_done(client, str(_create(client, 4, name="a").name))
        later = _until_done(client, str(_create(client, 2, name="b").name))
    assert expired.state is not None and expired.state.name == "JOB_STATE_EXPIRED"
    answered = expired.dest.inlined_responses if expired.dest else None
    assert [(r.metadata or {}).get("key") for r in answered or []] == ["a0", "a1"]
    assert later.state is not None and later.state.name == "JOB_STATE_SUCCEEDED"  # only the first N
