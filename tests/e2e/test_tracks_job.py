"""More than one track, through the whole job on the embedded services (issue 13 part 6): `media` counts
the sound and subtitle tracks, each chunk's request carries the cues that overlap it as a text part before
the media (times on the source's timeline, a cue across a boundary in both chunks), the service bills that
text, and a bumped preparation version prepares and asks again instead of reusing older answers."""

from __future__ import annotations

import math
import re
from datetime import date
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.media.subtitles import HEADER
from pipeline.prepare import version as preparation
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from tests import track_files as make

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 13)
# by file, per chunk ([0, 3.5) and [2.5, 6) for the 6 s files, one chunk for the 3 s one)
SENT = {
    "tracks.mkv": [  # the default (ASS) track, not the first (SRT)
        f"{HEADER}\n[1.00-2.00] Styled line second half\n[2.75-3.25] Crossing cue",
        f"{HEADER}\n[2.75-3.25] Crossing cue",
    ],
    "captions.mp4": [
        f"{HEADER}\n[0.50-1.50] Hello world\n[3.00-4.00] Across the boundary",
        f"{HEADER}\n[3.00-4.00] Across the boundary\n[5.00-5.50] Only at the end",
    ],
    "webvtt.mkv": [f"{HEADER}\n[0.50-1.25] Web line one\n[1.50-1.90] Web two"],
}


def _generate_bodies(services) -> list[dict]:  # noqa: ANN001
    return [
        r["body"] for r in services.emulator.recorded_requests() if r["path"].endswith(":generateContent")
    ]


def _logged_chars(text: str) -> int:
    """A logged text part's length: the emulator's request log writes a string over 200 characters as
    "<N chars>" and a shorter one whole."""
    clipped = re.fullmatch(r"<(\d+) chars>", text)
    return int(clipped[1]) if clipped else len(text)


def test_tracks_are_counted_and_subtitles_go_with_their_chunks(
    services,
    buckets,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    source, dest = buckets
    files = [
        make.two_sounds_and_subtitles(tmp_path / "tracks.mkv"),
        make.mov_text_mp4(tmp_path / "captions.mp4"),
        make.webvtt_mkv(tmp_path / "webvtt.mkv"),
    ]
    store = S3Store()
    for path in files:
        store.upload(path, S3Location.parse(f"{source}/dt={DT.isoformat()}/{path.name}"))
    settings = Settings(
        source=source, dest=dest, mode="sync", max_chunk_seconds=3.5, overlap_seconds=1.0, audio_model=""
    )
    seen_before = len(_generate_bodies(services))

    first = run_job(settings, DT, store=store)

    at = S3Location.parse(dest)
    media = {
        r["source_uri"].rsplit("/", 1)[-1]: r
        for r in read_table(store, at, "media", DT.isoformat()).to_pylist()
    }
    assert {
        n: (r["status"], r["audio_tracks"], r["subtitle_tracks"], r["chunks"]) for n, r in media.items()
    } == {
        "tracks.mkv": ("ok", 2, 2, 2),
        "captions.mp4": ("ok", 0, 1, 2),
        "webvtt.mkv": ("ok", 0, 1, 1),
    }
    # what the emulator received: the subtitles first, then the media, then the prompt
    bodies = _generate_bodies(services)[seen_before:]
    parts = [b["contents"][0]["parts"] for b in bodies]
    assert all(p[0]["text"].startswith(HEADER) for p in parts)
    assert all("inlineData" in p[1] or "fileData" in p[1] for p in parts)
    assert sorted(p[0]["text"] for p in parts) == sorted(t for texts in SENT.values() for t in texts)
    # the prompt part comes last; every request has the same one
    (prompt_chars,) = {_logged_chars(p[-1]["text"]) for p in parts}

    # what the service billed as text: ~4 characters a token over the text parts joined, by hand
    requests = [
        r for r in read_table(store, at, "requests", DT.isoformat()).to_pylist() if r["status"] == "ok"
    ]
    billed = {
        (r["source_uri"].rsplit("/", 1)[-1], r["chunk_index"]): r["prompt_tokens_text"] for r in requests
    }
    assert billed == {
        (name, i): math.ceil((len(text) + prompt_chars) / 4)
        for name, texts in SENT.items()
        for i, text in enumerate(texts)
    }
    assert billed["tracks.mkv", 0] == math.ceil((128 + prompt_chars) / 4)  # 67 + 1 + 35 + 1 + 24 chars

    # the same preparation again: answers reused; a bumped preparation version: prepared and asked again
    again = run_job(settings, DT, store=store)
    reused = read_table(store, at, "media", DT.isoformat()).to_pylist()
    assert {r["reused_from_run_id"] for r in reused} == {first.run_id} and again.requests == 0
    monkeypatch.setattr(preparation, "PREPARATION_VERSION", preparation.PREPARATION_VERSION + 1)
    # in this process only: the patched version does not reach a pool's worker processes
    bumped = run_job(settings.model_copy(update={"workers": 1}), DT, store=store)
    fresh = read_table(store, at, "media", DT.isoformat()).to_pylist()
    assert {r["reused_from_run_id"] for r in fresh} == {None} and bumped.requests == first.requests
    keys = {
        r["request_key"]
        for r in read_table(store, at, "requests", DT.isoformat()).to_pylist()
        if r["run_id"] == bumped.run_id
    }
    assert len(keys) == len(billed) and keys.isdisjoint(r["request_key"] for r in requests)  # new chunks
