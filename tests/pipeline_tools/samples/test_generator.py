from __future__ import annotations

import dataclasses as _dataclasses
import re
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from pipeline.errors import CorruptMediaError, UnsupportedMediaError
from pipeline.media import probe, verify_decodable
from pipeline.models import MediaType
from pipeline.plan import plan_media
from pipeline.prepare import prepare_media
from pipeline.tasks import DESCRIBE as _DESCRIBE
from pipeline_tools.samples import GroundTruth, generate_samples
from pipeline_tools.samples.generator import GROUND_TRUTH_FILE, PALETTE, VIDEO_FPS
from tests.media_helpers import prepare_settings

P_TASK = _dataclasses.replace(_DESCRIBE, prompt="p")


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    t0 = time.monotonic()
    truth = generate_samples(out, seed=7)
    return out, truth, time.monotonic() - t0


def test_fast_and_written(samples):
    out, truth, elapsed = samples
    assert elapsed < 20
    assert GroundTruth.model_validate_json((out / GROUND_TRUTH_FILE).read_text()) == truth
    assert {f.expected_status for f in truth.files.values()} == {"ok", "failed"}
    for name in truth.files:
        assert (out / name).exists()


def test_deterministic(samples, tmp_path):
    _, truth, _ = samples
    again = generate_samples(tmp_path, seed=7)
    assert again == truth


def test_truth_is_well_formed(samples):
    _, truth, _ = samples
    for f in truth.files.values():
        if f.media_type == "video" and f.expected_status == "ok":
            assert f.duration_s >= 150 and len(f.cuts) >= 5
            assert f.scenes[0].start_s == 0 and f.scenes[-1].end_s == f.duration_s
            for a, b in zip(f.scenes, f.scenes[1:], strict=False):
                assert a.end_s == b.start_s and a.colour != b.colour
            assert all(abs(c - round(c)) > 0.05 for c in f.cuts)  # never on whole seconds
        if f.audio_spans:
            assert f.audio_spans[0].start_s == 0 and f.audio_spans[-1].end_s == f.duration_s
            assert any(not s.loud for s in f.audio_spans)


def _colour_cuts(path, fps: int) -> list[float]:
    """Times where the mean colour of consecutive frames jumps: every frame decoded at 8x8 RGB."""
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(path),
            "-an",
            "-vf",
            f"fps={fps},scale=8:8",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    frames = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, 64, 3).mean(axis=1)
    jumps = np.abs(np.diff(frames, axis=0)).max(axis=1) > 20
    return [round((i + 1) / fps, 3) for i in np.flatnonzero(jumps)]


def _scene_cuts(path) -> list[float]:
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-i",
            str(path),
            "-an",
            "-vf",
            "scale=64:36,select='gt(scene\\,0.05)',showinfo",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(m) for m in re.findall(r"pts_time:([0-9.]+)", proc.stderr)]


def _frame_rgb(path, t: float) -> np.ndarray:
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-ss",
            f"{t:.3f}",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-vf",
            "scale=8:8",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(proc.stdout, dtype=np.uint8).reshape(-1, 3).mean(axis=0)


def _silences(path) -> list[tuple[float, float]]:
    proc = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-hide_banner",
            "-i",
            str(path),
            "-vn",
            "-af",
            "silencedetect=n=-50dB:d=1",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    starts = [float(x) for x in re.findall(r"silence_start: ([0-9.]+)", proc.stderr)]
    ends = [float(x) for x in re.findall(r"silence_end: ([0-9.]+)", proc.stderr)]
    return list(zip(starts, ends, strict=False))


@pytest.mark.parametrize("name", ["scenes_a.mp4", "scenes_b.mkv"])
def test_scene_cuts_match_ffmpeg(samples, name):
    out, truth, _ = samples
    f = truth.files[name]
    detected = _colour_cuts(out / name, VIDEO_FPS)
    assert detected == pytest.approx(f.cuts, abs=0.11)
    # ffmpeg's scene detector finds cuts only at true cuts (solid colours: no false positives)
    scene = _scene_cuts(out / name)
    assert scene and all(min(abs(t - c) for c in f.cuts) < 0.11 for t in scene)
    for scene in f.scenes[:4]:
        mid = (scene.start_s + scene.end_s) / 2
        assert np.abs(_frame_rgb(out / name, mid) - np.array(scene.rgb)).max() < 20, scene


@pytest.mark.parametrize("name", ["scenes_a.mp4", "scenes_b.mkv", "tones.mp3"])
def test_silent_spans_match_ffmpeg(samples, name):
    out, truth, _ = samples
    want = [(s.start_s, s.end_s) for s in truth.files[name].audio_spans if not s.loud]
    got = _silences(out / name)
    assert len(got) == len(want)
    for (gs, ge), (ws, we) in zip(got, want, strict=True):
        assert gs == pytest.approx(ws, abs=0.15) and ge == pytest.approx(we, abs=0.15)


def test_photo_metadata_stripped_and_upright(samples, tmp_path):
    out, truth, _ = samples
    f = truth.files["photo_large.jpg"]
    src = out / "photo_large.jpg"
    with Image.open(src) as im:
        exif = im.getexif()
        assert im.size == (4000, 3000) and exif[0x0112] == 6 and exif[0x010F] and exif.get_ifd(0x8825)
    result = probe(src)
    assert (result.width, result.height) == (f.width, f.height) == (3000, 4000)
    plan = plan_media(
        str(src),
        result,
        settings=prepare_settings(),
        model="gemini-3.8-flash",
        max_chunk_seconds=60,
        overlap_s=2,
        task=P_TASK,
        max_output_tokens=100,
    )
    (chunk,) = prepare_media(src, plan, result, tmp_path)
    with Image.open(chunk.path) as im:
        assert not im.getexif() and im.size == (576, 768)
        arr = np.asarray(im.convert("RGB"), dtype=float)
    # blocks are 3 columns x 4 rows when upright: check each block's centre colour
    for i, colour in enumerate(f.blocks):
        r, c = divmod(i, 3)
        y, x = int((r + 0.5) * 192), int((c + 0.5) * 192)
        assert np.abs(arr[y, x] - np.array(PALETTE[colour])).max() < 25, (i, colour)


def test_failures_have_reasons(samples):
    out, truth, _ = samples
    with pytest.raises(CorruptMediaError) as info:
        verify_decodable(out / "broken.mp4", probe(out / "broken.mp4"))
    assert info.value.reason == truth.files["broken.mp4"].expected_reason
    with pytest.raises(UnsupportedMediaError) as info:
        probe(out / "notes.mp4")
    assert info.value.reason == truth.files["notes.mp4"].expected_reason


def test_ok_files_probe_as_truth(samples):
    out, truth, _ = samples
    for f in truth.ok_files():
        result = probe(out / f.name)
        assert result.media_type is MediaType(f.media_type)
        if f.duration_s:
            assert result.duration_s == pytest.approx(f.duration_s, abs=0.15)
