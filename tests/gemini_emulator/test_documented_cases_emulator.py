"""The emulator against the hand-worked documented token cases (tests/documented_cases.py): media of the
case's size and length, sent through the real SDK as the pipeline builds its requests, is billed what
the documentation says the service bills."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import wave
from pathlib import Path

import pytest
from google import genai
from google.genai import types
from PIL import Image

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.infer.requests import ChunkRequest, contents, generation_config
from pipeline.tasks import DESCRIBE
from tests.documented_cases import TOKEN_CASES, TokenCase

TASK = dataclasses.replace(DESCRIBE, prompt="Describe.")


@pytest.fixture(scope="module")
def client():
    with GeminiEmulator(EmulatorConfig()) as emu:
        yield genai.Client(api_key="k", http_options=types.HttpOptions(base_url=emu.base_url))


def _media(case: TokenCase, workdir: Path) -> tuple[str, bytes]:
    if case.kind == "image":
        buf = io.BytesIO()
        Image.new("RGB", (case.width, case.height), (180, 60, 40)).save(buf, format="PNG")
        return "image/png", buf.getvalue()
    if case.kind == "audio":
        buf = io.BytesIO()
        with wave.open(buf, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(b"\x20\x00" * int(case.seconds * 16000))
        return "audio/wav", buf.getvalue()
    path = workdir / "clip.mp4"
    sound = ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={case.seconds}"]
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=s={case.width}x{case.height}:r=25:d={case.seconds}", *(sound if case.with_audio else []),
         "-c:v", "libx264", "-pix_fmt", "yuv420p", *(["-c:a", "aac"] if case.with_audio else []),
         "-t", str(case.seconds), str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return "video/mp4", path.read_bytes()


@pytest.mark.parametrize("case", TOKEN_CASES, ids=lambda c: c.name)
def test_the_emulator_bills_the_documented_tokens(client, case: TokenCase, tmp_path) -> None:  # noqa: ANN001
    mime, data = _media(case, tmp_path)
    request = ChunkRequest(
        "case", "s3://b/case", 0, 0.0, case.seconds, mime, data, video_fps=case.fps,
        media_resolution=case.resolution,
    )  # fmt: skip
    response = client.models.generate_content(
        model=case.model,
        contents=contents(TASK, request, case.model),
        config=generation_config(TASK, case.model, media_resolution=case.resolution),
    )
    billed = {
        str(d.modality.value): d.token_count
        for d in response.usage_metadata.prompt_tokens_details or []
        if str(d.modality.value) != "TEXT"
    }
    assert billed == case.tokens, case.source
