"""GeminiClient translates every failure of the service at its boundary, checked against the emulator over
HTTP through the real SDK: each error arrives as the project's class, with a message that says what was
being done, and nothing unknown passes as transient."""

from __future__ import annotations

import pytest
from google.genai import types

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.errors import (
    ConfigError,
    GeminiRequestError,
    GeminiTransientError,
    ModelNotServedError,
    QuotaExhaustedError,
)
from pipeline.gemini.client import GeminiClient, GeminiConnection

MODEL = "gemini-3.8-flash"
SAY_HI = [types.Content(role="user", parts=[types.Part.from_text(text="Say hi")])]


@pytest.fixture
def client_of():
    started: list[GeminiEmulator] = []

    def start(**config: object) -> GeminiClient:
        emu = GeminiEmulator(EmulatorConfig(batch_pending_s=0.0, batch_running_s=0.0, **config)).start()
        started.append(emu)
        # No retry_options: the SDK stops after one attempt (retry_args in google/genai/_api_client.py).
        return GeminiClient(GeminiConnection(api_key="k", base_url=emu.base_url, timeout_ms=30_000))

    yield start
    for emu in started:
        emu.stop()


def test_a_model_the_service_does_not_serve_is_model_not_served(client_of) -> None:  # noqa: ANN001
    client = client_of(unserved=[MODEL])
    with pytest.raises(ModelNotServedError, match=f"looking up model {MODEL}") as raised:
        client.get_model(MODEL)
    assert raised.value.model == MODEL and raised.value.http_status == 404


def test_overload_is_transient_and_a_daily_quota_is_not(client_of) -> None:  # noqa: ANN001
    config = types.GenerateContentConfig()
    with pytest.raises(GeminiTransientError, match=r"generating with gemini-3\.8-flash: Gemini answered 503"):
        client_of(faults={"http_503": 1.0}).generate(MODEL, SAY_HI, config)
    with pytest.raises(QuotaExhaustedError, match="exhausted until it resets"):
        client_of(faults={"daily_quota": 1.0}).generate(MODEL, SAY_HI, config)


def test_unknown_batches_files_and_caches_are_request_errors_naming_them(client_of) -> None:  # noqa: ANN001
    client = client_of()
    with pytest.raises(GeminiRequestError, match="polling batches/nope"):
        client.get_batch("batches/nope")
    with pytest.raises(GeminiRequestError, match="checking upload files/nope"):
        client.get_file("files/nope")
    with pytest.raises(GeminiRequestError, match="deleting files/nope"):
        client.delete_file("files/nope")
    with pytest.raises(GeminiRequestError, match="deleting context cache cachedContents/nope"):
        client.delete_cache("cachedContents/nope")


def test_a_service_that_cannot_be_reached_is_transient() -> None:
    unreachable = GeminiClient(GeminiConnection(api_key="k", base_url="http://127.0.0.1:9", timeout_ms=2_000))
    with pytest.raises(GeminiTransientError, match="cannot reach Gemini"):
        unreachable.get_model(MODEL)


def test_what_the_service_answers_well_comes_back_typed(client_of) -> None:  # noqa: ANN001
    client = client_of()
    assert client.get_model(MODEL).name == f"models/{MODEL}"
    job = client.create_batch(
        MODEL, [types.InlinedRequest(contents="Say hi", metadata={"key": "k0"})], "gmp-t"
    )
    assert job.name and job.name in [j.name for j in client.list_batches()]
    uploaded = client.upload_file(b'{"key": "k"}\n', mime_type="jsonl", display_name="t.jsonl")
    assert client.get_file(str(uploaded.name)).name == uploaded.name
    client.delete_file(str(uploaded.name))
    with pytest.raises(GeminiRequestError):
        client.get_file(str(uploaded.name))


def test_a_missing_key_is_a_config_error_that_names_the_variable(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    assert GeminiConnection.from_env_if_set() is None
    with pytest.raises(ConfigError, match="GEMINI_API_KEY"):
        GeminiConnection.from_env()


def test_a_key_the_service_does_not_accept_is_a_config_error_naming_it(client_of) -> None:  # noqa: ANN001
    client = client_of(api_keys=["the-right-key"])  # the client's key is "k"
    with pytest.raises(ConfigError, match="refused the API key.*GEMINI_API_KEY") as raised:
        client.get_model(MODEL)
    assert raised.value.http_status == 400
