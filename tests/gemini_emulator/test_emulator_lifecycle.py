"""Model lifecycle of the Gemini emulator (an offline test double): retired ids, routing, dropped ids,
models.get/list and `modelStatus`, through the real SDK."""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime

import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from gemini_emulator import EmulatorConfig, GeminiEmulator

RETIRED = "gemini-2.5-flash"  # shut down 2026-12-01; the catalog says routed to gemini-3.5-flash-lite
NOT_FOUND = (
    "models/{m} is not found for API version v1beta, or is not supported for {method}. "
    "Call ListModels to see the list of available models and their supported methods."
)


def make(**kw) -> GeminiEmulator:
    return GeminiEmulator(EmulatorConfig(batch_pending_s=0.05, batch_running_s=0.1, **kw)).start()


def client_for(emu: GeminiEmulator) -> genai.Client:
    return genai.Client(
        api_key="k", http_options=types.HttpOptions(base_url=emu.base_url, api_version="v1beta")
    )


def big_image() -> types.Part:
    buf = io.BytesIO()
    Image.new("RGB", (1000, 800), (30, 40, 220)).save(buf, format="PNG")
    return types.Part.from_bytes(data=buf.getvalue(), mime_type="image/png")


def image_tokens(resp) -> int:
    return {d.modality.value: d.token_count for d in resp.usage_metadata.prompt_tokens_details}["IMAGE"]


def test_retired_model_is_not_found_everywhere():
    emu = make()
    try:
        c = client_for(emu)
        calls = [
            ("generateContent", lambda: c.models.generate_content(model=RETIRED, contents="x")),
            ("countTokens", lambda: c.models.count_tokens(model=RETIRED, contents="x")),
            ("batchGenerateContent", lambda: c.batches.create(model=RETIRED, src=[{"contents": "x"}])),
            ("get", lambda: c.models.get(model=RETIRED)),
        ]
        for method, call in calls:
            with pytest.raises(errors.ClientError) as info:
                call()
            assert (info.value.code, info.value.status) == (404, "NOT_FOUND")
            assert info.value.message == NOT_FOUND.format(m=RETIRED, method=method)
        assert f"models/{RETIRED}" not in {m.name for m in c.models.list()}
        assert emu.stats()["tokens"]["prompt"] == 0
    finally:
        emu.stop()


def test_route_retired_answers_with_the_successor():
    emu = make(route_retired=True)
    try:
        c = client_for(emu)
        resp = c.models.generate_content(model=RETIRED, contents=[big_image(), "What is it?"])
        assert resp.model_version == "gemini-3.5-flash-lite"
        # billed by 3.x rules: 1120 per image at the default resolution (2.x would tile: 4 x 258 = 1032)
        assert image_tokens(resp) == 1120
        status = resp.model_status
        assert status.model_stage == types.ModelStage.RETIRED
        assert status.retirement_time == datetime(2026, 12, 1, tzinfo=UTC)
        assert "gemini-3.5-flash-lite" in status.message
        assert c.models.get(model=RETIRED).name == f"models/{RETIRED}"  # the live API lists routed ids
        listed = {m.name for m in c.models.list()}
        assert {f"models/{RETIRED}", "models/gemini-2.5-pro", "models/gemini-3.7-flash"} <= listed
        assert "models/gemini-3-pro-preview" not in listed  # retired without a successor: still 404
        counted = c.models.count_tokens(model=RETIRED, contents=[big_image()])
        assert counted.total_tokens == 1120
        assert emu.stats()["routed"] == {f"{RETIRED}->gemini-3.5-flash-lite": 1}
    finally:
        emu.stop()


def test_routed_request_is_checked_as_the_model_it_names():
    emu = make(route_retired=True)
    try:
        c = client_for(emu)
        # 2.5 Pro cannot switch thinking off: budget 0 is refused although 3.8 Flash answers it
        off = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0))
        with pytest.raises(errors.ClientError) as info:
            c.models.generate_content(model="gemini-2.5-pro", contents="x", config=off)
        assert info.value.code == 400 and "models/gemini-2.5-pro" in info.value.message
        # a valid 2.5 budget is accepted; 3.8 Flash thinks at its default, MEDIUM: 1500 x [0.5, 1.5)
        ok = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=2048))
        resp = c.models.generate_content(model="gemini-2.5-pro", contents="x", config=ok)
        assert resp.model_version == "gemini-3.8-flash"
        assert 750 <= resp.usage_metadata.thoughts_token_count < 2250
    finally:
        emu.stop()


def test_explicit_routes_and_batches():
    emu = make(routes={"gemini-2.5-flash-lite": "gemini-3.8-flash", "gemini-9-alias": "gemini-4-argon"})
    try:
        c = client_for(emu)
        resp = c.models.generate_content(model="gemini-2.5-flash-lite", contents=[big_image()])
        assert resp.model_version == "gemini-3.8-flash" and image_tokens(resp) == 1120
        assert resp.model_status is None  # Flash-Lite itself is current
        alias = c.models.get(model="gemini-9-alias")
        assert alias.name == "models/gemini-9-alias" and alias.thinking
        assert "createCachedContent" not in alias.supported_actions  # Gemini 4: implicit caching only
        assert (
            c.models.generate_content(model="gemini-9-alias", contents="x").model_version == "gemini-4-argon"
        )
        job = c.batches.create(model="gemini-2.5-flash-lite", src=[{"contents": [big_image()]}])
        deadline = time.monotonic() + 10
        while not job.done and time.monotonic() < deadline:
            time.sleep(0.03)
            job = c.batches.get(name=job.name)
        item = job.dest.inlined_responses[0].response
        assert item.model_version == "gemini-3.8-flash" and image_tokens(item) == 1120
        assert emu.stats()["routed"] == {
            "gemini-2.5-flash-lite->gemini-3.8-flash": 2,
            "gemini-9-alias->gemini-4-argon": 1,
        }
    finally:
        emu.stop()
    with pytest.raises(ValueError):
        GeminiEmulator(EmulatorConfig(routes={"a": "gemini-0-nope"}))


def test_unserved_ids_are_dropped_everywhere():
    emu = make(unserved=["gemini-2.5-flash-lite", "gemini-3.7-flash"], route_retired=True)
    try:
        c = client_for(emu)
        for call in (
            lambda: c.models.get(model="gemini-2.5-flash-lite"),
            lambda: c.models.generate_content(model="gemini-2.5-flash-lite", contents="x"),
            lambda: c.models.count_tokens(model="gemini-2.5-flash-lite", contents="x"),
            lambda: c.batches.create(model="gemini-2.5-flash-lite", src=[{"contents": "x"}]),
            lambda: c.caches.create(
                model="gemini-2.5-flash-lite", config=types.CreateCachedContentConfig(contents=["x" * 9000])
            ),
        ):
            with pytest.raises(errors.ClientError) as info:
                call()
            assert info.value.code == 404
        with pytest.raises(errors.ClientError) as info:  # dropped although the catalog would route it
            c.models.generate_content(model="gemini-3.7-flash", contents="x")
        assert info.value.code == 404
        listed = {m.name for m in c.models.list()}
        assert "models/gemini-2.5-flash-lite" not in listed and "models/gemini-3.8-flash" in listed
        assert "models/gemini-3.7-flash" not in listed and "models/gemini-3.5-flash" in listed
    finally:
        emu.stop()


def test_model_status_near_shutdown_and_deprecated():
    # gemini-3.1-flash-lite shuts down 2027-05-07: 17 days ahead on 2027-04-20 (warned within 30 days)
    emu = make(today=date(2027, 4, 20))
    try:
        c = client_for(emu)
        status = c.models.generate_content(model="gemini-3.1-flash-lite", contents="x").model_status
        assert status.model_stage == types.ModelStage.LEGACY
        assert status.retirement_time == datetime(2027, 5, 7, tzinfo=UTC)
        assert "2027-05-07" in status.message
        deprecated = c.models.generate_content(model="gemini-3-flash-preview", contents="x").model_status
        assert deprecated.model_stage == types.ModelStage.DEPRECATED and deprecated.retirement_time is None
        assert c.models.generate_content(model="gemini-3.8-flash", contents="x").model_status is None
    finally:
        emu.stop()
    far = make(today=date(2026, 12, 1))  # 157 days ahead: no warning yet
    try:
        c = client_for(far)  # keep a reference: a collected Client closes its HTTP pool
        assert c.models.generate_content(model="gemini-3.1-flash-lite", contents="x").model_status is None
    finally:
        far.stop()
    gone = make(today=date(2027, 5, 7))  # its shutdown day: no successor named, so 404
    try:
        c = client_for(gone)
        with pytest.raises(errors.ClientError) as info:
            c.models.generate_content(model="gemini-3.1-flash-lite", contents="x")
        assert info.value.code == 404
    finally:
        gone.stop()


def test_lifecycle_env(monkeypatch):
    monkeypatch.setenv("GEMINI_EMULATOR_ROUTES", '{"gemini-3.8-flash": "gemini-4-argon"}')
    monkeypatch.setenv("GEMINI_EMULATOR_ROUTE_RETIRED", "true")
    monkeypatch.setenv("GEMINI_EMULATOR_UNSERVED", '["gemini-3.6-flash"]')
    monkeypatch.setenv("GEMINI_EMULATOR_TODAY", "2027-01-02")
    cfg = EmulatorConfig()
    assert cfg.routes == {"gemini-3.8-flash": "gemini-4-argon"} and cfg.route_retired
    assert cfg.unserved == ["gemini-3.6-flash"] and cfg.today == date(2027, 1, 2)
    monkeypatch.setenv("GEMINI_EMULATOR_UNSERVED", '{"not": "a list"}')
    with pytest.raises(ValueError):
        EmulatorConfig()
    monkeypatch.delenv("GEMINI_EMULATOR_UNSERVED")
    monkeypatch.delenv("GEMINI_EMULATOR_ROUTE_RETIRED")
    assert EmulatorConfig().route_retired is False and EmulatorConfig().unserved == []
