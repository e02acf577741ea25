"""Thinking, output limits, sampling and media resolution of the Gemini emulator (an offline test double),
through the real SDK. Expected numbers are worked out by hand from the documented rules (comments)."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from gemini_emulator import EmulatorConfig, GeminiEmulator

MODEL = "gemini-3.8-flash"  # levels LOW/MEDIUM/HIGH, default MEDIUM; typical thoughts 400/1500/4000
LITE = "gemini-2.5-flash-lite"  # budget 512..24576 or 0 (off, the default) or -1 (dynamic)
DESCRIBE = types.GenerateContentConfig(response_mime_type="application/json")


@pytest.fixture(scope="module")
def emu():
    with GeminiEmulator(EmulatorConfig(batch_pending_s=0.05, batch_running_s=0.1)) as e:
        yield e


@pytest.fixture(scope="module")
def client(emu):
    return genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emu.base_url))


def png(width: int, height: int, rgb=(220, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), rgb).save(buf, format="PNG")
    return buf.getvalue()


def image(width: int = 640, height: int = 480, rgb=(220, 30, 30), **kw) -> types.Part:
    return types.Part.from_bytes(data=png(width, height, rgb), mime_type="image/png", **kw)


def thinking(level: str | None = None, budget: int | None = None, **kw) -> types.GenerateContentConfig:
    cfg = types.ThinkingConfig(thinking_level=level, thinking_budget=budget)
    return types.GenerateContentConfig(thinking_config=cfg, response_mime_type="application/json", **kw)


def thoughts(client, model: str, config, contents=None) -> int | None:
    resp = client.models.generate_content(
        model=model, contents=contents or [image(), "Describe."], config=config
    )
    return resp.usage_metadata.thoughts_token_count


def test_levels_set_the_thoughts(client):
    # thoughts = typical x a factor in [0.5, 1.5): LOW 400 -> [200, 600), MEDIUM 1500 -> [750, 2250),
    # HIGH 4000 -> [2000, 6000); no thinkingConfig = the model's default, MEDIUM
    low, medium, high = (thoughts(client, MODEL, thinking(lv)) for lv in ("LOW", "MEDIUM", "HIGH"))
    assert 200 <= low < 600 and 750 <= medium < 2250 and 2000 <= high < 6000
    assert 750 <= thoughts(client, MODEL, DESCRIBE) < 2250
    hydrogen = thoughts(client, "gemini-4-hydrogen", thinking("XHIGH"))  # Gemini 4 XHIGH: 8000 typical
    assert 4000 <= hydrogen < 12000


def test_thoughts_are_deterministic_per_request(client):
    same = [thoughts(client, MODEL, DESCRIBE) for _ in range(2)]
    assert same[0] == same[1]
    colours = [(220, 30, 30), (30, 40, 220), (30, 160, 40), (240, 230, 40)]
    others = {thoughts(client, MODEL, DESCRIBE, [image(rgb=rgb), "Describe."]) for rgb in colours}
    assert len(others) > 1  # other media, other thinking


def test_thoughts_are_billed_and_counted(emu, client):
    before = emu.stats()["tokens"]["thoughts"]
    resp = client.models.generate_content(model=MODEL, contents="hi", config=DESCRIBE)
    usage = resp.usage_metadata
    assert usage.thoughts_token_count > 0
    assert (
        usage.total_token_count
        == usage.prompt_token_count + usage.candidates_token_count + usage.thoughts_token_count
    )
    assert not any(p.thought for p in resp.candidates[0].content.parts)  # thoughts are not returned
    assert emu.stats()["tokens"]["thoughts"] == before + usage.thoughts_token_count


def test_budgets_on_2_5(client):
    assert thoughts(client, LITE, DESCRIBE) is None  # Flash-Lite: thinking off by default
    assert thoughts(client, LITE, thinking(budget=0)) is None
    # 512 -> the LOW level (budget 1024 covers it): typical 350 -> [175, 525)
    assert 175 <= thoughts(client, LITE, thinking(budget=512)) < 525
    # 1100 -> MEDIUM (8192 covers it), typical 1500 capped at the budget: 1100 -> [550, 1650); over a
    # few prompts an uncapped 1500 x [0.5, 1.5) would show values of 1650 and more
    capped = [thoughts(client, LITE, thinking(budget=1100), [f"prompt {i}"]) for i in range(8)]
    assert all(550 <= t < 1650 for t in capped), capped
    # -1 (dynamic) -> the largest level, HIGH: typical 4000 -> [2000, 6000)
    assert 2000 <= thoughts(client, LITE, thinking(budget=-1)) < 6000


@pytest.mark.parametrize(
    ("model", "config", "words"),
    [
        (MODEL, thinking("MINIMAL"), "MINIMAL is not supported"),  # 3.8 Flash: LOW/MEDIUM/HIGH only
        ("gemini-4-carbon", thinking("XHIGH"), "XHIGH is not supported"),
        (LITE, thinking("LOW"), "thinking_level is not supported"),  # 2.5 takes a budget
        ("gemini-4-argon", thinking(budget=1024), "thinking_budget is not supported"),
        (MODEL, thinking(budget=1024), "thinking_budget is not supported"),  # the catalog: level control
        (LITE, thinking(budget=100), "thinking budget 100 is invalid"),  # below 512
        (LITE, thinking(budget=30000), "thinking budget 30000 is invalid"),  # above 24576
        (LITE, thinking("LOW", budget=1024), "cannot both be set"),
    ],
)
def test_thinking_config_errors(client, model, config, words):
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=model, contents="x", config=config)
    assert info.value.code == 400 and info.value.status == "INVALID_ARGUMENT"
    assert words in info.value.message


def test_lowercase_level_over_raw_http(emu):
    body = {
        "contents": [{"parts": [{"text": "x"}]}],
        "generation_config": {"thinking_config": {"thinking_level": "low"}},
    }
    r = httpx.post(
        f"{emu.base_url}/v1beta/models/{MODEL}:generateContent", headers={"x-goog-api-key": "k"}, json=body
    )
    assert r.status_code == 200 and 200 <= r.json()["usageMetadata"]["thoughtsTokenCount"] < 600


def test_thinking_uses_up_max_output_tokens(client):
    # thoughts at MEDIUM are >= 750 > 100: all 100 go to thinking, no answer, still billed
    resp = client.models.generate_content(
        model=MODEL, contents="hi", config=types.GenerateContentConfig(max_output_tokens=100)
    )
    cand, usage = resp.candidates[0], resp.usage_metadata
    assert cand.finish_reason == types.FinishReason.MAX_TOKENS
    assert resp.text is None and not (cand.content and cand.content.parts)
    assert usage.thoughts_token_count == 100 and usage.candidates_token_count is None
    assert usage.total_token_count == usage.prompt_token_count + 100  # "hi": 1 prompt token
    assert usage.prompt_token_count == 1


def test_answer_cut_to_what_thinking_left(client):
    contents = [image(), "Describe."]
    full = client.models.generate_content(model=MODEL, contents=contents, config=thinking("LOW"))
    t, a = full.usage_metadata.thoughts_token_count, full.usage_metadata.candidates_token_count
    assert a >= 4
    limit = t + a // 2  # thoughts fit, half the answer does
    cut = client.models.generate_content(
        model=MODEL, contents=contents, config=thinking("LOW", max_output_tokens=limit)
    )
    usage = cut.usage_metadata
    assert cut.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert usage.thoughts_token_count == t  # the same thinking, whatever the limit
    assert usage.candidates_token_count == a // 2
    assert cut.text == full.text[: (a // 2) * 4]  # 4 characters per text token
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.text)


def test_sampling_ignored_or_rejected(emu, client):
    before = emu.stats()["ignored_parameters"]
    cfg = types.GenerateContentConfig(temperature=0.2, top_p=0.9, top_k=20)
    assert client.models.generate_content(model=MODEL, contents="x", config=cfg).text  # 3.x: ignored
    client.models.generate_content(model=LITE, contents="x", config=cfg)  # 2.5: supported, not counted
    after = emu.stats()["ignored_parameters"]
    assert {k: after[k] - before.get(k, 0) for k in ("temperature", "top_p", "top_k")} == {
        "temperature": 1,
        "top_p": 1,
        "top_k": 1,
    }
    for model, cfg in (
        (MODEL, types.GenerateContentConfig(presence_penalty=0.5)),
        ("gemini-4-argon", types.GenerateContentConfig(frequency_penalty=0.5)),
    ):
        with pytest.raises(errors.ClientError) as info:
            client.models.generate_content(model=model, contents="x", config=cfg)
        assert info.value.code == 400 and "Penalty is not enabled" in info.value.message
    assert client.models.generate_content(
        model=LITE, contents="x", config=types.GenerateContentConfig(presence_penalty=0.5)
    )


def image_tokens(client, model: str, part: types.Part, resolution: str | None = None) -> int:
    cfg = (
        types.GenerateContentConfig(media_resolution=f"MEDIA_RESOLUTION_{resolution}") if resolution else None
    )
    resp = client.models.generate_content(model=model, contents=[part], config=cfg)
    return {d.modality.value: d.token_count for d in resp.usage_metadata.prompt_tokens_details}["IMAGE"]


def test_request_resolution_per_family(client):
    # 3.x: LOW 280, MEDIUM 560, HIGH 1120, default 1120 (any size)
    got = [image_tokens(client, MODEL, image(1000, 800), r) for r in (None, "LOW", "MEDIUM", "HIGH")]
    assert got == [1120, 280, 560, 1120]
    # 2.5: LOW 64, MEDIUM 256, HIGH 256 fixed; default tiled: ceil(1000/768) x ceil(800/768) = 4 x 258
    got = [image_tokens(client, LITE, image(1000, 800), r) for r in (None, "LOW", "MEDIUM", "HIGH")]
    assert got == [4 * 258, 64, 256, 256]


def test_part_resolution_wins_and_is_3x_only(emu, client):
    high = types.PartMediaResolutionLevel.MEDIA_RESOLUTION_HIGH
    assert image_tokens(client, MODEL, image(media_resolution="MEDIA_RESOLUTION_LOW"), "HIGH") == 280
    assert image_tokens(client, MODEL, image(media_resolution=high), "LOW") == 1120
    assert image_tokens(client, MODEL, image(media_resolution="MEDIA_RESOLUTION_ULTRA_HIGH")) == 2240
    assert (
        image_tokens(client, "gemini-4-argon", image(media_resolution="MEDIA_RESOLUTION_ULTRA_HIGH")) == 2240
    )
    with pytest.raises(errors.ClientError) as info:  # 2.5: request-wide resolution only
        client.models.generate_content(model=LITE, contents=[image(media_resolution=high)])
    assert info.value.code == 400 and "per-part media resolution is not supported" in info.value.message
    body = {
        "contents": [{"parts": [{"text": "x"}]}],
        "generationConfig": {"mediaResolution": "MEDIA_RESOLUTION_ULTRA_HIGH"},
    }
    r = httpx.post(
        f"{emu.base_url}/v1beta/models/{MODEL}:generateContent", headers={"x-goog-api-key": "k"}, json=body
    )
    assert r.status_code == 400 and "per part" in r.json()["error"]["message"]  # ULTRA_HIGH: per part only


def test_video_frames_on_3x(client, tmp_path):
    import ffmpeg

    path = tmp_path / "gray.mp4"
    ffmpeg.input("color=c=gray:s=160x90:r=10:d=3", f="lavfi").output(
        str(path), vcodec="libx264", preset="ultrafast", pix_fmt="yuv420p", t=3
    ).overwrite_output().run(quiet=True)
    data = path.read_bytes()

    def video_tokens(resolution: str | None = None, part_level: str | None = None) -> int:
        part = types.Part.from_bytes(data=data, mime_type="video/mp4", media_resolution=part_level)
        cfg = (
            types.GenerateContentConfig(media_resolution=f"MEDIA_RESOLUTION_{resolution}")
            if resolution
            else None
        )
        resp = client.models.generate_content(model=MODEL, contents=[part], config=cfg)
        return {d.modality.value: d.token_count for d in resp.usage_metadata.prompt_tokens_details}["VIDEO"]

    # 3 s at 1 fps: 3 frames; 70 tokens each at default/LOW/MEDIUM, 280 at HIGH
    assert [video_tokens(), video_tokens("LOW"), video_tokens("MEDIUM")] == [3 * 70] * 3
    assert video_tokens("HIGH") == 3 * 280
    assert video_tokens("LOW", part_level="MEDIA_RESOLUTION_HIGH") == 3 * 280
