"""The Gemini emulator (an offline test double) driven through the real google-genai SDK over HTTP."""

from __future__ import annotations

import io
import json
import math
import time
import urllib.error
import urllib.request

import ffmpeg
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.tasks.describe import MediaDescription

MODEL = (
    "gemini-3.8-flash"  # 3.x rules: images 280/560/1120 (LOW/MEDIUM/HIGH+default), frames 70 (280 at HIGH)
)
LITE = "gemini-2.5-flash-lite"  # 2.x rules: 258-token 768 px image tiles, frames 258 (66 at LOW); no thinking
SCENES = [("red", 0.0, 4.0), ("blue", 4.0, 9.0), ("green", 9.0, 12.0)]
AUDIO = [("audio: loud", 0.0, 5.0), ("audio: silent", 5.0, 8.0), ("audio: loud", 8.0, 12.0)]


@pytest.fixture(scope="module")
def emu():
    with GeminiEmulator(EmulatorConfig(batch_pending_s=0.3, batch_running_s=0.6)) as e:
        yield e


def client_for(emu: GeminiEmulator, version: str | None = None) -> genai.Client:
    opts = types.HttpOptions(base_url=emu.base_url)
    if version:
        opts.api_version = version
    return genai.Client(api_key="test-key", http_options=opts)


@pytest.fixture(scope="module")
def client(emu):
    return client_for(emu)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> bytes:
    """12 s, 320x180: red 0-4, blue 4-9, green 9-12; a 440 Hz tone with silence from 5 to 8 s."""
    path = tmp_path_factory.mktemp("media") / "scenes.mp4"
    vids = [ffmpeg.input(f"color=c={c}:s=320x180:r=10:d={e - s}", f="lavfi") for c, s, e in SCENES]
    auds = [
        ffmpeg.input("sine=frequency=440:sample_rate=16000:duration=5", f="lavfi"),
        ffmpeg.input("anullsrc=r=16000:cl=mono", f="lavfi", t=3),
        ffmpeg.input("sine=frequency=440:sample_rate=16000:duration=4", f="lavfi"),
    ]
    v = ffmpeg.concat(*vids, v=1, a=0)
    a = ffmpeg.concat(*auds, v=0, a=1)
    out = ffmpeg.output(
        v, a, str(path), vcodec="libx264", preset="ultrafast", pix_fmt="yuv420p", acodec="aac", t=12
    )
    out.overwrite_output().run(quiet=True)
    return path.read_bytes()


def png(width: int, height: int) -> bytes:
    img = Image.new("RGB", (width, height), (220, 30, 30))
    img.paste((30, 40, 220), (0, 0, width // 2, height // 2))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def video_part(data: bytes, fps: float = 1.0) -> types.Part:
    return types.Part(
        inline_data=types.Blob(data=data, mime_type="video/mp4"), video_metadata=types.VideoMetadata(fps=fps)
    )


def describe_config(**kw) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=MediaDescription, **kw
    )


def details(usage) -> dict[str, int]:
    return {d.modality.value: d.token_count for d in usage.prompt_tokens_details or []}


def probe_duration(data: bytes, tmp_path) -> float:
    p = tmp_path / "v.mp4"
    p.write_bytes(data)
    return float(ffmpeg.probe(str(p))["format"]["duration"])


def check_segments(desc: MediaDescription) -> None:
    scenes = [s for s in desc.segments if s.label.startswith("scene:")]
    assert [s.label for s in scenes] == [f"scene: {c}" for c, _, _ in SCENES]
    for seg, (_, start, end) in zip(scenes, SCENES, strict=True):
        assert abs(seg.start_s - start) <= 1.0 and abs(seg.end_s - end) <= 1.0, seg
    sounds = [s for s in desc.segments if s.label.startswith("audio:")]
    assert [s.label for s in sounds] == [label for label, _, _ in AUDIO]
    for seg, (_, start, end) in zip(sounds, AUDIO, strict=True):
        assert abs(seg.start_s - start) <= 0.5 and abs(seg.end_s - end) <= 0.5, seg
    assert [s.start_s for s in desc.segments] == sorted(s.start_s for s in desc.segments)


@pytest.mark.parametrize("version", ["v1", "v1beta"])
def test_video_describe_end_to_end(emu, video, tmp_path, version):
    cfg = describe_config(
        media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW, system_instruction="Be brief."
    )
    c = client_for(emu, version)  # keep a reference: a collected Client closes its HTTP pool
    resp = c.models.generate_content(
        model=LITE, contents=[video_part(video), "Describe this clip."], config=cfg
    )
    desc = resp.parsed
    assert isinstance(desc, MediaDescription)
    check_segments(desc)
    assert desc.language == "und" and {"video", "red", "blue", "green", "audio"} <= set(desc.tags)
    assert "video" in desc.summary and "red" in desc.summary
    duration = probe_duration(video, tmp_path)
    usage = resp.usage_metadata
    by = details(usage)
    # 2.x at LOW: 66 tokens per frame, one frame per second from t=0 (ceil of duration x fps)
    assert by["VIDEO"] == math.ceil(duration * 1.0) * 66
    assert 12 * 66 <= by["VIDEO"] <= 13 * 66
    assert by["AUDIO"] == round(32 * duration) or by["AUDIO"] == -(-32 * duration // 1)
    assert by["TEXT"] == -(-len("Be brief.Describe this clip.") // 4)
    assert usage.prompt_token_count == sum(by.values())
    assert usage.candidates_token_count == -(-len(resp.text) // 4)
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    assert resp.candidates[0].finish_reason == types.FinishReason.STOP
    assert usage.thoughts_token_count is None  # 2.5 Flash-Lite does not think by default
    assert resp.model_version == LITE and resp.response_id


def test_fps_two_doubles_frames_and_keeps_accuracy(client, video, tmp_path):
    resp = client.models.generate_content(
        model=MODEL, contents=[video_part(video, fps=2.0)], config=describe_config()
    )
    check_segments(resp.parsed)
    duration = probe_duration(video, tmp_path)
    # 3.x default resolution: 70 tokens per frame; 2 fps over ~12 s: ceil(duration x 2) frames (25)
    assert details(resp.usage_metadata)["VIDEO"] == math.ceil(duration * 2.0) * 70


def test_response_json_schema_with_refs(client, video):
    cfg = types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=MediaDescription.model_json_schema()
    )
    resp = client.models.generate_content(model=MODEL, contents=[video_part(video), "Describe."], config=cfg)
    check_segments(MediaDescription.model_validate_json(resp.text))


def test_image_tokens_and_colours(client):
    resp = client.models.generate_content(
        model=LITE,
        contents=[types.Part.from_bytes(data=png(1000, 800), mime_type="image/png"), "What is this?"],
        config=describe_config(),
    )
    desc = resp.parsed
    assert details(resp.usage_metadata)["IMAGE"] == 4 * 258  # 2.x: ceil(1000/768) x ceil(800/768) = 4 tiles
    assert "1000x800" in desc.summary and desc.segments == []
    assert {"image", "red", "blue"} <= set(desc.tags)
    small = client.models.count_tokens(
        model=LITE, contents=[types.Part.from_bytes(data=png(300, 200), mime_type="image/png")]
    )
    assert small.total_tokens == 258  # both sides <= 384 px: one small image
    on_3x = client.models.count_tokens(
        model=MODEL, contents=[types.Part.from_bytes(data=png(1000, 800), mime_type="image/png")]
    )
    assert on_3x.total_tokens == 1120  # 3.x default resolution: 1120 per image, whatever its size


def test_count_tokens_matches_billing(client, video):
    contents = [video_part(video), "Describe this clip."]
    counted = client.models.count_tokens(model=MODEL, contents=contents)
    resp = client.models.generate_content(model=MODEL, contents=contents, config=describe_config())
    assert counted.total_tokens == resp.usage_metadata.prompt_token_count


def test_text_only_and_plain_json(client):
    resp = client.models.generate_content(model=MODEL, contents="hello emulator")
    assert "hello emulator" in resp.text
    resp = client.models.generate_content(
        model=MODEL, contents="hi", config=types.GenerateContentConfig(response_mime_type="application/json")
    )
    assert set(json.loads(resp.text)) == {"summary", "tags", "language", "segments"}
    assert details(resp.usage_metadata) == {"TEXT": 1}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"model": "gemini-0-nope", "contents": "hi"}, 404),
        ({"model": "gemini-2.5-flash", "contents": "hi"}, 404),  # shut down 2026-12-01, not routed by default
        ({"model": MODEL, "contents": [types.Part.from_bytes(data=b"BM123", mime_type="image/bmp")]}, 400),
        (
            {"model": MODEL, "contents": [types.Part.from_bytes(data=b"not a video", mime_type="video/mp4")]},
            400,
        ),
    ],
)
def test_errors_like_the_api(client, kwargs, code):
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(**kwargs)
    assert info.value.code == code
    assert info.value.status == {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}[code]


def raw_post(emu, path: str, body: bytes, key: str | None = "k") -> tuple[int, dict]:
    req = urllib.request.Request(f"{emu.base_url}{path}", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("x-goog-api-key", key)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_raw_http_strictness_and_snake_case(emu):
    path = f"/v1beta/models/{MODEL}:generateContent"
    empty = raw_post(emu, path, b'{"contents": []}')  # the SDK refuses to send this itself
    assert empty[0] == 400 and empty[1]["error"]["status"] == "INVALID_ARGUMENT"
    assert raw_post(emu, path, b'{"contents": [{"role": "user", "parts": []}]}')[0] == 400
    code, body = raw_post(emu, path, b"{not json")
    assert code == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
    bad_b64 = {"contents": [{"parts": [{"inline_data": {"mime_type": "image/png", "data": "!!!"}}]}]}
    assert raw_post(emu, path, json.dumps(bad_b64).encode())[0] == 400
    assert raw_post(emu, path, b'{"contents": [{"parts": [{"text": "x"}]}]}', key=None)[0] == 403
    snake = {
        "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
        "generation_config": {"response_mime_type": "application/json", "max_output_tokens": 5},
    }
    # 2.5 Flash-Lite does not think by default: the whole limit of 5 goes to the (cut) answer
    code, body = raw_post(emu, f"/v1beta/models/{LITE}:generateContent", json.dumps(snake).encode())
    assert code == 200 and body["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert body["usageMetadata"]["candidatesTokenCount"] == 5
    # cut to 5 tokens x 4 characters of the JSON answer {"summary": "Emulated answer ..."}
    assert body["candidates"][0]["content"]["parts"][0]["text"] == '{"summary": "Emulate'


def test_models_get_and_list(client):
    model = client.models.get(model=MODEL)
    assert model.input_token_limit == 1048576 and model.output_token_limit == 65536 and model.thinking
    assert "createCachedContent" in model.supported_actions
    listed = {m.name for m in client.models.list()}
    assert f"models/{MODEL}" in listed and f"models/{LITE}" in listed
    assert "models/gemini-2.5-flash" not in listed  # shut down and not routed: not served
    assert "createCachedContent" not in client.models.get(model="gemini-4-argon").supported_actions
    for gone in ("gemini-0-nope", "gemini-2.5-flash"):
        with pytest.raises(errors.ClientError) as info:
            client.models.get(model=gone)
        assert info.value.code == 404


@pytest.mark.parametrize("version", ["v1", "v1beta"])
def test_batch_inline_lifecycle(emu, video, version):
    c = client_for(emu, version)
    cfg = {"response_mime_type": "application/json", "response_schema": MediaDescription}
    src = [
        {"contents": [video_part(video), "Describe."], "config": cfg, "metadata": {"key": "k1"}},
        {
            "contents": [types.Part.from_bytes(data=png(800, 600), mime_type="image/png")],
            "config": cfg,
            "metadata": {"key": "k2"},
        },
        {"contents": [types.Part.from_bytes(data=b"xx", mime_type="image/bmp")], "metadata": {"key": "bad"}},
    ]
    before = emu.stats()["batch_jobs_created"]
    job = c.batches.create(model=LITE, src=src, config={"display_name": "emu-test"})
    assert job.state == types.JobState.JOB_STATE_PENDING and not job.done
    assert job.name.startswith("batches/") and job.display_name == "emu-test"
    seen = [job.state]
    deadline = time.monotonic() + 20
    while not job.done and time.monotonic() < deadline:
        time.sleep(0.1)
        job = c.batches.get(name=job.name)
        if job.state != seen[-1]:
            seen.append(job.state)
    assert seen == [
        types.JobState.JOB_STATE_PENDING,
        types.JobState.JOB_STATE_RUNNING,
        types.JobState.JOB_STATE_SUCCEEDED,
    ]
    assert job.end_time is not None and emu.stats()["batch_jobs_created"] == before + 1
    out = {r.metadata["key"]: r for r in job.dest.inlined_responses}
    check_segments(MediaDescription.model_validate_json(out["k1"].response.text))
    assert details(out["k1"].response.usage_metadata)["VIDEO"] > 0
    # 2.x: an 800x600 image is ceil(800/768) x ceil(600/768) = 2 tiles of 258
    assert details(out["k2"].response.usage_metadata)["IMAGE"] == 258 * 2
    assert out["k2"].response.model_version == LITE
    assert out["bad"].response is None and out["bad"].error.code == 3
    again = c.batches.get(name=job.name)
    assert [r.response.response_id for r in again.dest.inlined_responses[:2]] == [
        r.response.response_id for r in job.dest.inlined_responses[:2]
    ]
    assert any(j.name == job.name for j in c.batches.list(config={"page_size": 100}))
    c.batches.delete(name=job.name)
    with pytest.raises(errors.ClientError) as info:
        c.batches.get(name=job.name)
    assert info.value.code == 404


def test_batch_cancel_and_limits(emu, client):
    job = client.batches.create(model=MODEL, src=[{"contents": "hi", "metadata": {"key": "a"}}])
    client.batches.cancel(name=job.name)
    job = client.batches.get(name=job.name)
    assert job.state == types.JobState.JOB_STATE_CANCELLED and job.done
    with pytest.raises(errors.ClientError) as info:
        client.batches.create(model="gemini-0-nope", src=[{"contents": "hi"}])
    assert info.value.code == 404
    big = types.Part.from_bytes(data=b"\0" * (16 * 1024 * 1024), mime_type="text/plain")
    with pytest.raises(errors.ClientError) as info:
        client.batches.create(model=MODEL, src=[{"contents": [big]}])
    assert info.value.code == 400 and "20 MB" in info.value.message


def test_faults_and_stats(emu, client):
    emu.inject_fault(429, count=1, match=":generateContent")
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents="hi")
    assert info.value.code == 429 and info.value.status == "RESOURCE_EXHAUSTED"
    client.models.generate_content(model=MODEL, contents="hi")
    with urllib.request.urlopen(f"{emu.base_url}/_emulator/stats") as r:
        stats = json.loads(r.read())
    assert stats["requests"]["generateContent"] >= 2
    assert stats["tokens"]["prompt_by_modality"]["TEXT"] >= 1
    assert stats["errors"]["RESOURCE_EXHAUSTED"] >= 1


def test_audio_part_spans_and_tokens(client, tmp_path):
    path = tmp_path / "a.wav"
    tone = ffmpeg.input("sine=frequency=300:sample_rate=16000:duration=2", f="lavfi")
    gap = ffmpeg.input("anullsrc=r=16000:cl=mono", f="lavfi", t=2)
    ffmpeg.output(ffmpeg.concat(tone, gap, v=0, a=1), str(path), ac=1).overwrite_output().run(quiet=True)
    resp = client.models.generate_content(
        model=MODEL,
        contents=[types.Part.from_bytes(data=path.read_bytes(), mime_type="audio/wav")],
        config=describe_config(),
    )
    labels = [(s.label, s.start_s, s.end_s) for s in resp.parsed.segments]
    assert labels == [("audio: loud", 0.0, 2.0), ("audio: silent", 2.0, 4.0)]
    assert details(resp.usage_metadata) == {"AUDIO": 128}


def test_size_and_token_limits(client, monkeypatch):
    import gemini_emulator.generate as gen
    from pipeline.catalog import model_info, transport_limits

    image = types.Part.from_bytes(data=png(100, 100), mime_type="image/png")
    small = transport_limits().model_copy(update={"inline_request_max_bytes": 200})
    monkeypatch.setattr(gen, "transport_limits", lambda: small)
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents=[image])
    assert info.value.code == 400 and "payload size" in info.value.message
    monkeypatch.undo()
    tiny = model_info(MODEL).model_copy(update={"input_token_limit": 100, "output_token_limit": 10})
    monkeypatch.setattr(gen, "model_info", lambda m: tiny)
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents=[image])
    # 3.x default resolution: 1120 tokens for one image, over the limit of 100
    assert info.value.code == 400 and "input token count (1120)" in info.value.message


def test_batch_delay_from_env(monkeypatch):
    monkeypatch.setenv("GEMINI_EMULATOR_BATCH_DELAY_S", "3")
    cfg = EmulatorConfig()
    assert cfg.batch_pending_s + cfg.batch_running_s == pytest.approx(3.0)
    assert EmulatorConfig(batch_pending_s=0.1).batch_pending_s == 0.1


def test_request_log_clips_long_strings_unless_told_not_to():
    long_prompt = "x" * 300
    for clip, expected in ((200, "<300 chars>"), (None, long_prompt)):
        with GeminiEmulator(EmulatorConfig(request_log_clip=clip)) as e:
            c = client_for(e)
            c.models.generate_content(model=MODEL, contents=long_prompt)
            assert e.recorded_requests()[-1]["body"]["contents"][0]["parts"][0]["text"] == expected
