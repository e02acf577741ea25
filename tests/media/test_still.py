"""Stills and animations Pillow decodes (pipeline.media.still), through probe, verify and preparation:
each file class asserted on its outcome, hostile headers still refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from pipeline.errors import CorruptMediaError, MediaError
from pipeline.media import probe, sniff, verify_decodable
from pipeline.media import still as still_module
from pipeline.models import MediaType
from tests import lake_files as make
from tests.media_helpers import run_pipeline

IMG, V = MediaType.IMAGE, MediaType.VIDEO


@pytest.mark.parametrize(
    ("maker", "mime", "size"),
    [
        (make.heic, "image/heic", (320, 240)),
        (make.avif, "image/avif", (320, 240)),
        (make.bigtiff, "image/tiff", (300, 200)),
    ],
)
def test_stills_ffmpeg_cannot_all_read_are_answered(tmp_path: Path, maker, mime, size) -> None:  # noqa: ANN001
    path = maker(tmp_path / f"photo.{mime.rsplit('/', 1)[-1]}")
    assert sniff(path.read_bytes()[:1024]) == (IMG, mime)
    result, _plan, chunks = run_pipeline(path, tmp_path / "out")
    assert (result.media_type, result.decoder, result.animation) == (IMG, "pillow", None)
    assert (result.width, result.height, result.duration_s) == (*size, None)
    [chunk] = chunks
    assert chunk.mime_type == "image/jpeg" and (chunk.width, chunk.height) == size
    with Image.open(chunk.path) as jpeg:
        # the yellow square of the test picture is where it was drawn: the picture was really decoded
        r, g, b = jpeg.convert("RGB").getpixel((30, 30))
        assert r > 200 and g > 180 and b < 80


def test_exif_orientation_cmyk_16bit_and_alpha(tmp_path: Path) -> None:
    rotated = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    make.picture((200, 100)).save(rotated, "JPEG", exif=exif)
    result, _, [chunk] = run_pipeline(rotated, tmp_path / "rot")
    assert (result.width, result.height, result.rotation) == (100, 200, 90)
    assert (chunk.width, chunk.height) == (100, 200)

    cmyk = tmp_path / "print.jpg"
    make.picture().convert("CMYK").save(cmyk, "JPEG")
    _, _, [chunk] = run_pipeline(cmyk, tmp_path / "cmyk")
    with Image.open(chunk.path) as jpeg:
        assert jpeg.mode == "RGB"
        assert jpeg.getpixel((30, 30))[0] > 200  # yellow stays yellow, not inverted

    deep = tmp_path / "deep.png"
    Image.new("I;16", (64, 64), 65535).save(deep)
    _, _, [chunk] = run_pipeline(deep, tmp_path / "deep")
    with Image.open(chunk.path) as jpeg:
        assert jpeg.mode == "RGB" and min(jpeg.getpixel((32, 32))) > 245  # full scale is white, not clipped

    clear = tmp_path / "clear.png"
    Image.new("RGBA", (64, 64), (255, 0, 0, 0)).save(clear)
    _, _, [chunk] = run_pipeline(clear, tmp_path / "clear")
    with Image.open(chunk.path) as jpeg:
        assert all(abs(c - 128) <= 3 for c in jpeg.getpixel((32, 32)))  # transparency on neutral grey


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_moving_animation_is_sampled_as_video_on_its_own_timeline(tmp_path: Path, fmt: str) -> None:
    path = make.animation(tmp_path / f"anim.{fmt.lower()}", fmt, [100, 300, 600, 1000, 500, 500])
    assert sniff(path.read_bytes()[:1024])[0] is IMG
    result, plan, chunks = run_pipeline(path, tmp_path / "out")
    assert (result.media_type, result.decoder, result.animation) == (V, "pillow", "moving")
    assert result.duration_s == pytest.approx(3.0)
    assert (result.width, result.height) == (160, 120)
    assert plan.chunks[0].start_s == 0 and plan.chunks[-1].end_s == pytest.approx(3.0)
    assert all(c.mime_type == "video/mp4" for c in chunks)
    # billed as frames: the chunks together last as long as the animation
    assert sum(c.duration_s for c in chunks) >= 3.0 - 0.1
    assert plan.estimate.video > 0 and plan.estimate.image == 0


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animation_whose_frames_are_alike_is_one_still(tmp_path: Path, fmt: str) -> None:
    path = make.animation(tmp_path / f"same.{fmt.lower()}", fmt, [200] * 5, moving=False)
    with Image.open(path) as im:
        assert im.n_frames == 5  # really an animation
    result, _, [chunk] = run_pipeline(path, tmp_path / "out")
    assert (result.media_type, result.decoder, result.animation) == (IMG, "pillow", "still")
    assert result.duration_s is None and chunk.mime_type == "image/jpeg"


def test_png_header_claiming_100000_squared_is_refused(tmp_path: Path) -> None:
    path = make.png_claiming(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(MediaError) as info:
        probe(path)
    assert info.value.reason == "image_too_large" and "100000x100000" in str(info.value)


@pytest.mark.parametrize(
    "claimed",
    [
        (60_000, 60_000),  # over twice Pillow's Image.MAX_IMAGE_PIXELS: Pillow's own guard, at open
        (12_000, 10_000),  # 120 MP: under Pillow's refusal (it only warns), over ours
    ],
)
def test_tiff_header_lying_about_its_size_is_refused_before_decoding(
    tmp_path: Path,
    monkeypatch,  # noqa: ANN001
    claimed: tuple[int, int],
) -> None:
    path = make.tiff_claiming(tmp_path / "bomb.tif", *claimed)
    # nothing may decode it: the refusal comes from the header alone
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded a hostile picture"))
    monkeypatch.setattr(Image.Image, "tobytes", lambda self, *a: pytest.fail("decoded a hostile picture"))
    with pytest.raises(MediaError) as info:
        probe(path)
    assert info.value.reason == "image_too_large" and "bomb.tif" in str(info.value)


def test_animation_over_the_frame_budget_is_refused(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    path = make.animation(tmp_path / "long.gif", "GIF", [100] * 8)
    monkeypatch.setattr(still_module, "MAX_ANIMATION_FRAMES", 5)
    with pytest.raises(MediaError) as info:
        probe(path)
    assert info.value.reason == "animation_too_large" and "8 frames" in str(info.value)


def test_truncated_heic_is_refused_with_a_reason(tmp_path: Path) -> None:
    whole = make.heic(tmp_path / "whole.heic").read_bytes()
    cut = tmp_path / "cut.heic"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.raises(CorruptMediaError) as info:
        verify_decodable(cut, probe(cut))
    assert info.value.reason in ("undecodable", "unreadable_container") and "cut.heic" in str(info.value)
