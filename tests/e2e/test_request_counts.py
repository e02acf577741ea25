"""Nothing per object runs more than once per run (#12 part 3): a small mixed night in batch mode, with
the S3 server's own request log and a logging ffprobe on PATH read independently of the pipeline.

What the design does per source object, worked out from the stages:
- discover lists the date's prefix (one ListObjectsV2 for the night) and reads each object's first bytes
  with ONE ranged GET (206); plan downloads it ONCE (a plain GET, 200) into the run's scratch, which
  prepare reuses (the pool's workers share the scratch). No HEAD of a source, ever.
- A text file refused at discover by its head is never downloaded (its ranged GET only).
- ffprobe of a source: Pillow reads a picture (no ffprobe at all); audio and video get ONE
  `-show_format -show_streams`; a video one more of its keyframe packets (the motion profile's
  keyframe interval, `-show_entries packet=...`), a different question asked once.
- ffprobe of what prepare wrote: each chunk file is read back once (its real duration, size and
  streams go into the request and the tables).
- commit deletes the run's prepared chunks with ONE listing of the chunk area and one DeleteObjects per
  1,000 keys (this night's 8 prepared sources leave 27 objects, 11 chunks, 8 indexes and the run's 8
  leases: one DeleteObjects), where it listed and deleted each source's chunk prefix: 8 listings and 8
  DeleteObjects for this night, 2 requests where there were 16.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline import catalog
from pipeline.config import Settings
from pipeline.media.ffmpeg import default_ffmpeg
from pipeline.run import run_job
from pipeline.storage import S3Layout, S3Location, S3Store
from pipeline.tables import read_table
from tests.conftest import FIXTURE_MEDIA

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 12)
# the AVIF's JPEG (37.2 KB) is the one chunk over the URL limit the test lowers to 32 KB (next: 26.9 KB)
IMAGES = [
    "i_webp_lossy.webp",
    "i_jpeg_exif_orientation6.jpg",
    "i_png_16bit_gray_alpha.png",
    "i_avif_2048x858.avif",
]
BIG = "i_avif_2048x858.avif"
AUDIO = ["a_opus_mono.opus", "a_flac_stereo.flac"]
VIDEOS = ["v_vp9_opus_320x180.webm", "v_h264_rotate-90_bbb.mp4"]
# chunks of at most 2.5 s overlapping by 0.5 s: 5.02 s -> 3, 2.92 s -> 2, 2.0 s and 1.2 s -> 1
CHUNKS = {"v_vp9_opus_320x180.webm": 3, "v_h264_rotate-90_bbb.mp4": 1, "a_opus_mono.opus": 2}
# The service's limits, lowered in the same proportion (a URL fetch takes 5x the inline batch cap:
# 100 MB and 20 MB), so that one small chunk is over the URL limit and its job goes as a JSONL file.
URL_LIMIT, INLINE_CAP = 32_000, 6_400
REFUSED = ["x_json_named.webp"]  # JSON under an image name: refused at discover by its first bytes
NIGHT = IMAGES + AUDIO + VIDEOS + REFUSED
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _S3Log(logging.Handler):
    """moto's server is werkzeug: one access-log line per request ("METHOD path HTTP/1.1", status)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[str, str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) < 2:
            return
        method, _, rest = _ANSI.sub("", str(args[0])).partition(" ")
        self.lines.append((method, unquote(rest.rsplit(" ", 1)[0]), int(str(args[1]))))


@pytest.fixture
def s3_log() -> Any:
    logger = logging.getLogger("werkzeug")
    handler, level = _S3Log(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def probe_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An `ffprobe` first on PATH that writes its argv (tab-separated, one line a call) to a log and
    execs the real one. The runner looks its binaries up on PATH once per process: the pool's workers
    are new processes with the run's environment; this process's cached runner is dropped."""
    real = default_ffmpeg().ffprobe_path
    bindir, log = tmp_path / "bin", tmp_path / "ffprobe.log"
    bindir.mkdir()
    wrapper = bindir / "ffprobe"
    wrapper.write_text(
        f'#!/bin/sh\nline=""\nfor a in "$@"; do line="$line$a\t"; done\n'
        f"printf '%s\\n' \"$line\" >> '{log}'\nexec '{real}' \"$@\"\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    default_ffmpeg.cache_clear()
    try:
        yield log
    finally:
        default_ffmpeg.cache_clear()


def _probes(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [line.rstrip("\n").rstrip("\t").split("\t") for line in log.read_text().splitlines()]


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog (the one source of the service's limits, for the pipeline and the emulator alike)
    with the URL and inline caps lowered; the run's infer stage and the emulator both run here."""
    real = catalog.models_catalog()
    transport = real.transport.model_copy(
        update={"url_request_max_bytes": URL_LIMIT, "batch_inline_total_max_bytes": INLINE_CAP}
    )
    lowered = real.model_copy(update={"transport": transport})
    monkeypatch.setattr(catalog, "models_catalog", lambda: lowered)


def _source_probes(argvs: list[list[str]], name: str) -> list[list[str]]:
    return [a for a in argvs if "/sources/" in a[-1] and a[-1].endswith(f"-{name}")]


def test_each_source_is_read_once_and_probed_once(  # noqa: ANN001
    buckets, services, s3_log, probe_log, small_limits, monkeypatch
) -> None:
    source, dest = buckets
    store = S3Store()
    prefix = S3Location.parse(source).join(f"dt={DT.isoformat()}")
    for name in NIGHT:
        store.upload(FIXTURE_MEDIA / name, prefix.join(name))
    s3_log.lines.clear()
    settings = Settings(
        source=source,
        dest=dest,
        mode="batch",
        batch_poll_seconds=0.2,
        create_backoff_seconds=0.1,
        max_chunk_seconds=2.5,
        overlap_seconds=0.5,
        workers=2,
    )
    config = EmulatorConfig(batch_pending_s=0.1, batch_running_s=0.2, request_log_clip=None)
    with GeminiEmulator(config) as emulator:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.base_url)
        summary = run_job(settings, DT, store=store)
        stats, log = emulator.stats(), emulator.recorded_requests()
    assert summary.items_ok == len(NIGHT) - len(REFUSED) and summary.items_failed == len(REFUSED)
    chunks = {name: CHUNKS.get(name, 1) for name in IMAGES + AUDIO + VIDEOS}
    assert summary.requests == sum(chunks.values())

    # (a) S3, from moto's own request log: per source object, one ranged GET (discover's head), one
    # whole GET (plan's download, reused by prepare), no HEAD; the refused one is never downloaded.
    # The date's prefix is listed once.
    source_bucket = prefix.bucket
    per_key: dict[str, Counter[tuple[str, int]]] = {name: Counter() for name in NIGHT}
    listings = 0
    for method, path, status in s3_log.lines:
        where, _, query = path.partition("?")
        if where == f"/{source_bucket}" and f"prefix={prefix.key}/" in query and method == "GET":
            listings += 1
        elif where.startswith(f"/{source_bucket}/{prefix.key}/"):
            per_key[where.rsplit("/", 1)[-1]][(method, status)] += 1
    assert listings == 1
    for name in NIGHT:
        expected = Counter({("GET", 206): 1, ("GET", 200): 0 if name in REFUSED else 1})
        assert +per_key[name] == +expected, (name, dict(per_key[name]))

    # (b) ffprobe, from its own argv log (the emulator's probes of what it fetched are its own).
    argvs = [a for a in _probes(probe_log) if "/media-pipeline-" in a[-1]]
    for name in IMAGES + REFUSED:  # Pillow reads pictures; the refused one is never probed
        assert _source_probes(argvs, name) == [], name
    for name in AUDIO + VIDEOS:
        probes = _source_probes(argvs, name)
        streams = [a for a in probes if "-show_streams" in a]
        keyframes = [a for a in probes if any(x.startswith("packet=") for x in a)]
        assert len(streams) == 1, (name, probes)
        # a video's keyframe interval (its motion profile) is read once more, from packet flags
        assert len(keyframes) == (1 if name in VIDEOS else 0) and len(probes) == len(streams) + len(keyframes)
    # what prepare wrote: each video and audio chunk read back once (its real duration and streams),
    # a picture's JPEG never (Pillow reads its size from the header)
    written = [a[-1] for a in argvs if "/chunks/" in a[-1]]
    assert len(written) == len(set(written)) == sum(chunks[n] for n in AUDIO + VIDEOS)
    assert not [w for w in written if w.endswith(".jpg")]

    # The one chunk over the URL limit went by bytes (a Files API upload, in a JSONL job), every other
    # chunk by signed URL; the emulator's own log of uploads and URL fetches says so.
    starts = [
        e
        for e in log
        if e["path"].startswith("/upload/") and "start" in e["headers"].get("x-goog-upload-command", "")
    ]
    uploads = sorted(
        (
            e["headers"].get("x-goog-upload-header-content-type", ""),
            int(e["headers"]["x-goog-upload-header-content-length"]),
        )
        for e in starts
    )
    media_uploads = [(mime, size) for mime, size in uploads if not mime.endswith("jsonl")]
    assert len(uploads) == 2 and len(media_uploads) == 1, uploads  # the job's JSONL and the one chunk
    assert media_uploads[0][0] == "image/jpeg" and media_uploads[0][1] > URL_LIMIT, uploads
    assert stats["urls"]["fetched"] == summary.requests - 1 and stats["urls"]["refused"] == 0
    assert stats["urls"]["fetched_bytes"] <= URL_LIMIT * stats["urls"]["fetched"]
    media = {
        r["source_uri"].rsplit("/", 1)[-1]: r
        for r in read_table(store, S3Location.parse(dest), "media").to_pylist()
    }
    assert media[BIG]["status"] == "ok"

    # (c) commit's cleanup, from moto's log: the chunk area listed once (no per-source prefix listing),
    # then, before the run's state is saved again, one DeleteObjects for all of the run's chunks; none left.
    dest_loc = S3Location.parse(dest)
    area = S3Layout(dest_loc).chunk_area().key + "/"
    listings_of_chunks = [
        n
        for n, (method, path, _) in enumerate(s3_log.lines)
        if method == "GET" and path.startswith(f"/{dest_loc.bucket}?") and f"prefix={area}" in path
    ]
    assert len(listings_of_chunks) == 1, [s3_log.lines[n] for n in listings_of_chunks]
    after = s3_log.lines[listings_of_chunks[0] + 1 :]
    saved = next(
        n
        for n, (method, path, _) in enumerate(after)
        if method == "PUT" and path.startswith(f"/{dest_loc.bucket}/{dest_loc.key}/_staging/runs/")
    )
    deletes = [
        line for line in after[:saved] if line[0] == "POST" and line[1] == f"/{dest_loc.bucket}?delete"
    ]
    assert deletes == [("POST", f"/{dest_loc.bucket}?delete", 200)]
    assert list(store.list(S3Layout(dest_loc).chunk_area())) == []
