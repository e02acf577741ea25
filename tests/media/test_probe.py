from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.errors import CorruptMediaError, MediaError, UnsupportedMediaError
from pipeline.media import probe, verify_decodable
from pipeline.models import MediaType
from tests.media_helpers import FIXTURE_FILES, FIXTURES

V, A, IMG = MediaType.VIDEO, MediaType.AUDIO, MediaType.IMAGE

# name -> media type, or (error class, reason)
EXPECTED = {
    "a_aac51_two_tracks.mp4": A,
    "a_flac_stereo.flac": A,
    "a_mp3_coverart_badframes.mp3": A,
    "a_opus_mono.opus": A,
    "a_pcm_s16le_stereo_notags.wav": A,
    "i_avif_2048x858.avif": IMG,
    "i_gif_animated.gif": V,
    "i_heic_sequence_msf1.heic": IMG,
    "i_jpeg_exif_orientation6.jpg": IMG,
    "i_png_16bit_gray_alpha.png": IMG,
    "i_png_large_4160x870.png": IMG,
    "i_webp_lossy.webp": IMG,
    "v_h264_aac_2subs.mkv": V,
    "v_h264_ac3_1080i_interlaced.mts": V,
    "v_h264_rotate-90_bbb.mp4": V,
    "v_h264_vfr_3026x1386_noaudio.mp4": V,
    "v_vp8_vorbis_short.webm": V,
    "v_vp9_opus_320x180.webm": V,
    "x_bmp_claims_2GB.bmp": (MediaError, "image_too_large"),
    "x_corrupt_chunk.png": (CorruptMediaError, "zero_dimensions"),
    "x_hls_media_playlist_missing_segments.m3u8": (UnsupportedMediaError, "playlist"),
    "x_json_named.webp": (UnsupportedMediaError, "not_media"),
    "x_png_zlib_text_bomb.png": (MediaError, "decompression_bomb"),
    "x_truncated_100000B.mp4": (CorruptMediaError, "truncated"),
}


def test_all_fixtures_listed():
    assert {p.name for p in FIXTURE_FILES} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_probe_and_verify(name):
    path = FIXTURES / name
    expected = EXPECTED[name]
    if isinstance(expected, MediaType):
        result = probe(path)
        verify_decodable(path, result)
        assert result.media_type is expected
        if expected is not A:
            assert result.width and result.height
        if expected is not IMG:
            assert result.duration_s and result.duration_s > 0
        return
    cls, reason = expected
    with pytest.raises(cls) as info:
        result = probe(path)
        verify_decodable(path, result)
    assert info.value.reason == reason
    assert name in str(info.value)


def test_rotation_swaps_display_size():
    r = probe(FIXTURES / "v_h264_rotate-90_bbb.mp4")
    assert (r.width, r.height, r.rotation) == (1080, 1920, 90)
    assert r.has_audio and r.audio_stream == 1


def test_exif_orientation_of_a_jpeg():
    r = probe(FIXTURES / "i_jpeg_exif_orientation6.jpg")
    assert r.rotation == 90 and r.duration_s is None


def test_cover_art_is_not_video():
    r = probe(FIXTURES / "a_mp3_coverart_badframes.mp3")
    assert r.media_type is A and r.video_stream is None and r.audio_stream == 0
    assert any(s.attached_pic for s in r.streams)


def test_first_audio_track_is_chosen():
    r = probe(FIXTURES / "a_aac51_two_tracks.mp4")
    assert r.audio_stream == 0 and len([s for s in r.streams if s.codec_type == "audio"]) == 2


def test_video_without_audio():
    r = probe(FIXTURES / "v_h264_vfr_3026x1386_noaudio.mp4")
    assert r.has_video and not r.has_audio and r.audio_stream is None


def test_error_message_names_the_source_and_fix():
    with pytest.raises(CorruptMediaError) as info:
        probe(FIXTURES / "x_corrupt_chunk.png", source="s3://bucket/dt=2026-01-01/x.png")
    assert "s3://bucket/dt=2026-01-01/x.png" in str(info.value) and "re-export" in str(info.value)
    assert info.value.source == "s3://bucket/dt=2026-01-01/x.png"


def test_truncated_file_passes_probe_but_not_verify():
    path = FIXTURES / "x_truncated_100000B.mp4"
    result = probe(path)  # the header still claims 35 s of 1080p
    assert result.duration_s > 30
    with pytest.raises(CorruptMediaError, match="truncated"):
        verify_decodable(path, result)


def test_empty_and_odd_names(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(CorruptMediaError) as info:
        probe(empty)
    assert info.value.reason == "empty_file"
    # a file name that looks like an option or a protocol is still just a local file
    odd = tmp_path / "-i concat:x;$(rm -rf ~).webm"
    shutil.copy(FIXTURES / "v_vp9_opus_320x180.webm", odd)
    assert probe(odd).media_type is V


def test_binary_garbage_is_corrupt(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(MediaError):
        probe(junk)


# Zero-length objects, audio with cover art, audio-only MP4/M4A/M4B (issue 13, part 7)


def test_m4a_with_cover_art_is_audio(tmp_path):
    from tests.lake_files import m4a_with_cover

    for flagged, brand in ((True, "M4A "), (False, "M4B ")):
        path = m4a_with_cover(tmp_path / f"cover-{flagged}.m4a", 3.0, flagged=flagged, brand=brand)
        r = probe(path)
        verify_decodable(path, r)
        assert r.media_type is A and r.video_stream is None and r.audio_stream is not None
        assert r.duration_s == pytest.approx(3.0, abs=0.05) and r.width is None and r.height is None
        assert any(s.codec_type == "video" for s in r.streams)  # the cover is there, just not a picture track


@pytest.mark.parametrize("brand", ["isom", "M4A ", "M4B "])
def test_audio_only_mp4_family_is_audio(tmp_path, brand):
    from tests.lake_files import audio_mp4

    path = audio_mp4(tmp_path / "sound.mp4", 2.0, brand)
    r = probe(path)
    verify_decodable(path, r)
    assert r.media_type is A and r.duration_s == pytest.approx(2.0, abs=0.05)


def test_mjpeg_video_with_sound_is_still_video(tmp_path):
    """Only a ONE-frame picture next to a sound is cover art: a motion-JPEG clip stays a video."""
    from tests.lake_files import ffmpeg

    path = tmp_path / "camera.avi"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=s=160x120:d=2", "-f", "lavfi", "-i", "sine=d=2",
        "-c:v", "mjpeg", "-c:a", "pcm_s16le", str(path),
    )  # fmt: skip
    assert probe(path, profile=False).media_type is V


def test_zero_byte_file_says_it_is_empty(tmp_path):
    for name in ("empty.m4a", "empty.heic", "empty.gif"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(CorruptMediaError) as info:
            probe(tmp_path / name)
        assert info.value.reason == "empty_file" and "empty" in str(info.value) and name in str(info.value)


def _streams_json(
    fmt_duration: str, audio: dict[str, str], subtitle_tags: dict[str, str]
) -> dict[str, object]:
    return {
        "format": {"format_name": "matroska,webm", "duration": fmt_duration, "start_time": "0.000000"},
        "streams": [
            {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 64, "height": 48,
             "tags": {"DURATION": "00:00:06.000000000"}},
            {"index": 1, "codec_type": "audio", "codec_name": "aac", **audio},
            {"index": 2, "codec_type": "subtitle", "codec_name": "dvd_subtitle", "tags": subtitle_tags},
        ],
    }  # fmt: skip


def test_a_container_long_by_its_subtitles_is_planned_for_its_picture_and_sound():
    from pipeline.media.probe import _decide

    # ffmpeg 5.1's dvdsub encoder gives a cue with no end UINT32_MAX ms: the container says 49 days
    data = _streams_json(
        "4294967.818", {"tags": {"DURATION": "00:00:07.500000000"}}, {"DURATION": "1193:02:47.818"}
    )
    assert _decide(data, Path("film.mkv"), "film.mkv", None).duration_s == 7.5
    # a sound that starts late ends at its start plus its duration: the container's 10 s is right
    data = _streams_json("10.0", {"start_time": "2.976", "duration": "7.024"}, {})
    assert _decide(data, Path("late.mkv"), "late.mkv", None).duration_s == 10.0
    # unknown stream lengths (a cut MKV loses its tags): the container's claim stands
    data = _streams_json("20.0", {}, {})
    assert _decide(data, Path("cut.mkv"), "cut.mkv", None).duration_s == 20.0
