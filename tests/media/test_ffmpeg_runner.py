"""The ffmpeg/ffprobe runner on the real binaries and real files: what every spawned argv carries, and
how each kind of failure lands in the error tree."""

from __future__ import annotations

import ast
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.errors import (
    ConfigError,
    CorruptMediaError,
    FFmpegTransientError,
    MediaError,
    TransientError,
)
from pipeline.media import default_ffmpeg, probe, verify_decodable
from pipeline.media.ffmpeg import (
    FFMPEG_PREFIX,
    FFPROBE_PREFIX,
    PROTOCOL_WHITELIST,
    STDERR_LINE_CHARS,
    Failure,
    FFmpeg,
    Input,
    Spawn,
)
from pipeline.plan import plan_media
from pipeline.prepare import prepare_media
from tests.media_helpers import FIXTURES, MODEL, TASK, prepare_settings

REPO = Path(__file__).resolve().parents[2]
FAILS = Failure("test_failed", "test_timeout", "the test call failed", "fix the test input", lines=2)


@pytest.fixture
def spawned() -> list[Spawn]:
    return []


@pytest.fixture
def runner(spawned: list[Spawn]) -> FFmpeg:
    return FFmpeg(on_spawn=spawned.append)


def _assert_guarded(call: Spawn, runner: FFmpeg) -> None:
    """The prefix, the whitelist on every input, a finite positive budget, absolute input paths."""
    argv = list(call.argv)
    assert 0 < call.timeout_s < math.inf, call
    if call.tool == "ffmpeg":
        assert argv[0] == runner.ffmpeg_path
        assert argv[1 : 1 + len(FFMPEG_PREFIX)] == list(FFMPEG_PREFIX)
        inputs = [i for i, arg in enumerate(argv) if arg == "-i"]
        guards = [i for i, arg in enumerate(argv) if arg == "-protocol_whitelist"]
        assert inputs and len(guards) == len(inputs), argv
        # each input's own options start with the whitelist: guard, then the -i, before the next guard
        for guard, i, after in zip(guards, inputs, [*guards[1:], len(argv)], strict=True):
            assert guard < i < after and argv[guard + 1] == PROTOCOL_WHITELIST, argv
            target = argv[i + 1]
            is_lavfi = argv[i - 2 : i] == ["-f", "lavfi"]
            assert is_lavfi or Path(target).is_absolute(), argv
    else:
        assert argv[0] == runner.ffprobe_path
        assert argv[1 : 1 + len(FFPROBE_PREFIX)] == list(FFPROBE_PREFIX)
        assert argv.count("-protocol_whitelist") == 1
        assert argv[argv.index("-protocol_whitelist") + 1] == PROTOCOL_WHITELIST
        assert argv[-3:-1] == ["-of", "json"] and Path(argv[-1]).is_absolute(), argv


def test_every_spawn_of_the_library_carries_prefix_whitelist_and_timeout(tmp_path, runner, spawned):
    from pipeline.gemini.live_check.media import build_media

    # a video with sound (probe + profile + decode check + one pass + read-back), a HEIC still (ffmpeg
    # first frame, Pillow cannot read it) and the live check's generated clips (lavfi inputs)
    for name in ("v_h264_aac_2subs.mkv", "i_heic_sequence_msf1.heic"):
        path = FIXTURES / name
        result = probe(path, runner=runner)
        verify_decodable(path, result, runner=runner)
        plan = plan_media(
            name, result, settings=prepare_settings(), model=MODEL, max_chunk_seconds=4.0,
            overlap_s=1.0, task=TASK, max_output_tokens=100,
        )  # fmt: skip
        prepare_media(path, plan, result, tmp_path / name, runner=runner)
    build_media(tmp_path / "live", runner=runner)
    tools = [c.tool for c in spawned]
    assert tools.count("ffmpeg") >= 8 and tools.count("ffprobe") >= 8, tools
    assert any("-ss" in c.argv for c in spawned)  # input options (the tail check's seek) follow the guard
    assert any(c.argv.count("-i") == 2 for c in spawned)  # two lavfi inputs, two guards
    for call in spawned:
        _assert_guarded(call, runner)


def test_only_the_runner_starts_processes():
    """No module of the library but pipeline/media/ffmpeg.py imports subprocess or ffmpeg-python."""
    files = sorted((REPO / "pipeline").rglob("*.py"))
    assert len(files) > 50
    spawners = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("subprocess", "ffmpeg") for n in names):
                spawners.add(str(path.relative_to(REPO)))
    assert spawners == {"pipeline/media/ffmpeg.py"}


def test_a_corrupt_file_is_corrupt_media_naming_the_source(tmp_path, runner):
    junk = tmp_path / "holiday.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    with pytest.raises(CorruptMediaError) as info:
        runner.probe(junk, name="s3://b/dt=2026-01-01/holiday.mp4", failure=FAILS, source="s3://b/k")
    err = info.value
    assert err.reason == "test_failed" and err.source == "s3://b/k"
    assert str(err).startswith("s3://b/dt=2026-01-01/holiday.mp4: the test call failed (")
    assert "Invalid data found" in str(err) and str(err).endswith("; fix the test input")
    assert str(tmp_path) not in str(err)  # the scratch path is stripped from ffmpeg's lines


def test_a_truncated_decode_fails_through_the_callers_reason():
    path = FIXTURES / "x_truncated_100000B.mp4"
    with pytest.raises(CorruptMediaError) as info:
        verify_decodable(path, probe(path), source="s3://b/annex-b.mp4")
    assert info.value.reason == "truncated" and "s3://b/annex-b.mp4" in str(info.value)


def test_stderr_quoted_in_a_message_is_bounded(runner):
    huge_filter = "x" * 5000
    with pytest.raises(CorruptMediaError) as info:
        runner.run(
            [Input.lavfi("color=s=32x32:d=1")],
            ["-vf", huge_filter, "-f", "null", "-"],
            name="clip",
            failure=Failure("test_failed", "test_timeout", "the filter failed", "fix it", lines=4),
        )
    message = str(info.value)
    assert "No such filter" in message  # ffmpeg's own words are quoted...
    assert len(message) < 4 * (STDERR_LINE_CHARS + 3) + 100  # ...but not its 5000-character echo


def test_a_timeout_kills_a_long_decode_and_uses_the_timeout_reason(runner):
    started = time.monotonic()
    with pytest.raises(CorruptMediaError) as info:
        runner.run(
            [Input.lavfi("testsrc2=s=1280x720:r=30:d=3600")],
            ["-f", "null", "-"],
            name="endless.mp4",
            failure=FAILS,
            timeout=0.5,
        )
    assert time.monotonic() - started < 10
    assert info.value.reason == "test_timeout"
    assert str(info.value) == "endless.mp4: ffmpeg took over 0.50 s; fix the test input"
    assert isinstance(info.value.__cause__, subprocess.TimeoutExpired)


def test_a_probe_of_a_pipe_that_never_ends_times_out(tmp_path, runner):
    fifo = tmp_path / "never.mp4"
    os.mkfifo(fifo)  # ffprobe blocks opening it: no writer ever comes
    probing = Failure("unreadable_container", "probe_timeout", "ffprobe cannot read it", "re-export the file")
    with pytest.raises(CorruptMediaError) as info:
        runner.probe(fifo, name="never.mp4", failure=probing, timeout=0.5)
    assert info.value.reason == "probe_timeout" and "ffprobe took over 0.50 s" in str(info.value)


@pytest.mark.parametrize(
    "target", ["concat:{a}|{a}", "subfile,,start,0,end,100,,:{a}", "http://127.0.0.1:9/x"]
)
def test_inputs_through_other_protocols_are_refused(runner, target):
    fixture = str(FIXTURES / "a_flac_stereo.flac")
    raw = Input(target.format(a=fixture))
    with pytest.raises(CorruptMediaError) as info:
        runner.run([raw], ["-f", "null", "-"], name="x", failure=FAILS)
    assert "not on whitelist 'file'" in str(info.value)
    with pytest.raises(CorruptMediaError):
        runner.probe_json(raw, ["-show_format"], name="x", failure=FAILS)
    # the same name as a file path is a (missing) local file, never a protocol
    with pytest.raises(CorruptMediaError) as info:
        runner.probe(target.format(a=fixture), name="x", failure=FAILS)
    assert "No such file or directory" in str(info.value)


class _Recorder(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).paths.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_a_playlist_cannot_make_ffprobe_fetch_a_url(tmp_path, runner):
    _Recorder.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        playlist = tmp_path / "remote.m3u8"
        url = f"http://127.0.0.1:{server.server_port}/segment.ts"
        playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{url}\n#EXT-X-ENDLIST\n")
        quote_three = Failure("test_failed", "test_timeout", "the test call failed", "fix it", lines=3)
        with pytest.raises(CorruptMediaError) as info:
            runner.probe(playlist, name="remote.m3u8", failure=quote_three)
        assert "Protocol 'http' not on whitelist 'file'" in str(info.value)
        assert _Recorder.paths == []
        # the control (so the above can fail): with http allowed, the same probe does fetch it
        allowed = ["-protocol_whitelist", "file,http,tcp", "-show_format", str(playlist)]
        subprocess.run(["ffprobe", "-v", "error", *allowed], capture_output=True, timeout=30, check=False)
        assert _Recorder.paths == ["/segment.ts"]
    finally:
        server.shutdown()
        server.server_close()


def test_output_that_is_not_json_is_corrupt_media(runner):
    # `-o` sends ffprobe's report to a file: stdout stays empty, exit 0
    with pytest.raises(CorruptMediaError) as info:
        runner.probe_json(
            Input.file(FIXTURES / "a_flac_stereo.flac"), ["-show_format", "-o", os.devnull], name="a.flac",
            failure=FAILS,
        )  # fmt: skip
    assert info.value.reason == "test_failed" and "ffprobe printed no JSON" in str(info.value)


def test_a_path_without_ffmpeg_is_a_config_error_naming_the_binary(tmp_path):
    with pytest.raises(ConfigError) as info:
        FFmpeg(search_path=str(tmp_path))
    assert str(info.value).startswith("ffmpeg: not found") and "apt-get install ffmpeg" in str(info.value)
    (tmp_path / "ffmpeg").symlink_to(shutil.which("ffmpeg"))  # ffmpeg there, ffprobe still missing
    with pytest.raises(ConfigError) as info:
        FFmpeg(search_path=str(tmp_path))
    assert str(info.value).startswith("ffprobe: not found")
    with pytest.raises(ConfigError) as info:
        FFmpeg(ffprobe="/nonexistent/bin/ffprobe")
    assert "ffprobe" in str(info.value) and "/nonexistent/bin/ffprobe" in str(info.value)


def test_a_missing_binary_fails_the_call_itself_not_the_item(tmp_path, monkeypatch):
    """The library's default runner on a PATH without ffmpeg: a ConfigError, which the stages (they
    catch MediaError per item) let through, so the run stops at its first item."""
    monkeypatch.setenv("PATH", str(tmp_path))
    default_ffmpeg.cache_clear()
    try:
        with pytest.raises(ConfigError) as info:
            probe(FIXTURES / "a_flac_stereo.flac")
        assert not isinstance(info.value, MediaError)
    finally:
        monkeypatch.undo()
        default_ffmpeg.cache_clear()


def test_a_binary_gone_after_lookup_is_a_config_error(tmp_path):
    for tool in ("ffmpeg", "ffprobe"):
        (tmp_path / tool).symlink_to(shutil.which(tool))
    runner = FFmpeg(search_path=str(tmp_path))
    (tmp_path / "ffprobe").unlink()
    with pytest.raises(ConfigError) as info:
        runner.probe(FIXTURES / "a_flac_stereo.flac", name="a.flac", failure=FAILS)
    assert str(info.value).startswith("ffprobe: cannot start")


def test_a_worker_out_of_file_descriptors_is_transient():
    """In a child interpreter whose descriptor limit is all used: starting ffprobe fails with EMFILE."""
    script = f"""
import os, resource
from pipeline.errors import FFmpegTransientError
from pipeline.media.ffmpeg import FFmpeg, Failure
runner = FFmpeg()
used = len(os.listdir("/proc/self/fd"))
resource.setrlimit(resource.RLIMIT_NOFILE, (used, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
try:
    runner.probe({str(FIXTURES / "a_flac_stereo.flac")!r}, name="a.flac", failure=Failure("r", "t", "s", "f"))
except FFmpegTransientError as exc:
    print("transient:", exc)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO, check=False
    )
    assert proc.stdout.startswith("transient: a.flac: cannot start ffprobe"), proc.stdout + proc.stderr
    assert "Too many open files" in proc.stdout
    assert issubclass(FFmpegTransientError, TransientError)


def test_a_call_without_a_budget_is_refused(runner, spawned):
    with pytest.raises(ValueError, match="positive timeout"):
        runner.probe(FIXTURES / "a_flac_stereo.flac", name="a.flac", failure=FAILS, timeout=0)
    assert spawned == []
