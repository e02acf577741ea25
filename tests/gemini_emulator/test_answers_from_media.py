"""The emulator answers from what a request carries, never from the wording of the caller's prompt: a
video part without an audio stream (the picture half of a split request) yields scenes and says nothing
about sound; an audio part yields sound spans and no scenes; the pipeline's own track notes change
nothing in the answer."""

from __future__ import annotations

import json
from pathlib import Path

import ffmpeg
import pytest
from google import genai
from google.genai import types

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.models import Track
from pipeline.tasks import TRACK_NOTES
from pipeline.tasks.describe import PROMPT, MediaDescription

MODEL = "gemini-3.8-flash"
SCENES = [("red", 0.0, 3.0), ("blue", 3.0, 6.0)]
SOUND_WORDS = ("audio", "sound", "silence", "silent")


@pytest.fixture(scope="module")
def client():
    with GeminiEmulator(EmulatorConfig()) as emu:
        yield genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=emu.base_url))


def _picture(path: Path) -> bytes:
    """6 s, red then blue, no audio stream (what a split video's picture request carries)."""
    parts = [ffmpeg.input(f"color=c={c}:s=160x90:r=10:d={e - s}", f="lavfi") for c, s, e in SCENES]
    video = ffmpeg.concat(*parts, v=1, a=0)
    ffmpeg.output(video, str(path), vcodec="libx264", preset="ultrafast", pix_fmt="yuv420p").run(quiet=True)
    return path.read_bytes()


def _sound(path: Path) -> bytes:
    """6 s: a tone for 3 s, then silence (what a split video's sound request carries)."""
    tone = ffmpeg.input("sine=frequency=440:sample_rate=16000:duration=3", f="lavfi")
    quiet = ffmpeg.input("anullsrc=r=16000:cl=mono", f="lavfi", t=3)
    audio = ffmpeg.concat(tone, quiet, v=0, a=1)
    ffmpeg.output(audio, str(path), acodec="libopus", ac=1).run(quiet=True)
    return path.read_bytes()


def _ask(client: genai.Client, data: bytes, mime: str, prompt: str) -> dict:
    part = types.Part(inline_data=types.Blob(data=data, mime_type=mime))
    if mime.startswith("video/"):
        part.video_metadata = types.VideoMetadata(fps=1.0)
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=MediaDescription
    )
    response = client.models.generate_content(model=MODEL, contents=[part, prompt], config=config)
    answer = json.loads(response.text or "")
    MediaDescription.model_validate(answer)
    return answer


def test_a_video_without_sound_yields_scenes_and_no_word_on_sound_whatever_the_prompt(client, tmp_path):
    data = _picture(tmp_path / "picture.mp4")
    plain = _ask(client, data, "video/mp4", "Describe the attached media.")
    noted = _ask(client, data, "video/mp4", PROMPT + TRACK_NOTES[Track.PICTURE])
    assert plain == noted
    labels = [s["label"] for s in plain["segments"]]
    assert labels == [f"scene: {c}" for c, _, _ in SCENES]
    for segment, (_, start, end) in zip(plain["segments"], SCENES, strict=True):
        assert abs(segment["start_s"] - start) <= 1.0 and abs(segment["end_s"] - end) <= 1.0
    summary = plain["summary"].lower()
    assert "video" in summary and "red" in summary and "blue" in summary
    assert not any(word in summary for word in SOUND_WORDS), plain["summary"]
    assert "audio" not in plain["tags"]


def test_an_audio_part_yields_sound_spans_and_no_scenes_whatever_the_prompt(client, tmp_path):
    data = _sound(tmp_path / "sound.ogg")
    plain = _ask(client, data, "audio/ogg", "Describe the attached media.")
    noted = _ask(client, data, "audio/ogg", PROMPT + TRACK_NOTES[Track.SOUND])
    assert plain == noted
    assert [s["label"] for s in plain["segments"]] == ["audio: loud", "audio: silent"]
    loud, silent = plain["segments"]
    assert abs(loud["end_s"] - 3.0) <= 0.5 and abs(silent["end_s"] - 6.0) <= 0.5
    assert "sound from 0 to" in plain["summary"] and "scene" not in plain["summary"]
