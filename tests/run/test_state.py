"""The run's state is typed, and a manifest an earlier version staged (dicts read by string key, money as
strings and floats) still loads: a run interrupted before an upgrade resumes after it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from pipeline.models import Track
from pipeline.run.state import ItemAnswer, PromptCache, RequestFacts, RequestOutcome, RunManifest

KEY = "0123456789abcdef-fingerpr-c000"

# What the version before the typed state wrote to `_staging/runs/<run_id>/manifest.json` (trimmed to
# the fields that changed type).
EARLIER_MANIFEST = {
    "run_id": "r-2026-11-30-abc",
    "dt": "2026-11-30",
    "started_at": "2026-12-01T02:00:00+00:00",
    "model": "gemini-3.8-flash",
    "task": "describe",
    "task_version": "describe-v2",
    "mode": "batch",
    "source": "s3://in/x",
    "dest": "s3://out/y",
    "budget_usd": 2.5,
    "estimated_cost_usd": "0.012300000",
    "estimated_cost_upper_usd": "0.020000000",
    "items": [
        {
            "source": {"uri": "s3://in/x/a.mp4", "key": "x/a.mp4", "bytes": 10, "etag": "e", "sha256": "0123456789abcdef" * 4},
            "estimated_cost_usd": "0.012300000",
            "estimated_cost_upper_usd": "0.020000000",
            "answer": {
                "summary": "a red scene",
                "tags": ["red"],
                "language": "und",
                "spans": [{"start_s": 0.0, "end_s": 4.0, "label": "scene: red", "description": "", "chunk_indexes": [0]}],
                "answers": [{"summary": "a red scene"}],
            },
        }
    ],
    "prompt_cache": {"name": "cachedContents/c1", "tokens": 5000, "created_at": "2026-12-01T02:01:00+00:00"},
    "requests": {
        KEY: {
            "source_uri": "s3://in/x/a.mp4", "chunk_index": 0, "track": "sound", "model": "gemini-3.5-flash-lite",
            "chunk_start_s": 0.0, "chunk_end_s": 4.0, "mime_type": "audio/ogg", "bytes": 999,
            "chunk_uri": "s3://out/y/_staging/chunks/a/c000.ogg", "media_resolution": "MEDIA_RESOLUTION_LOW",
            "estimated_prompt_tokens": 128,
        }
    },
    "outcomes": {
        KEY: {"key": KEY, "mode": "batch", "status": "ok", "text": "{}", "attempt": 2,
              "usage": {"audio": 128, "output": 40, "thoughts": 12}, "answered_at": "2026-12-01T03:00:00+00:00"}
    },
    "history": [{"key": KEY, "mode": "batch", "status": "error", "finish_reason": "MAX_TOKENS", "usage": {}}],
}  # fmt: skip


def test_a_manifest_an_earlier_version_staged_loads_typed() -> None:
    manifest = RunManifest.model_validate(EARLIER_MANIFEST)
    fact = manifest.requests[KEY]
    assert isinstance(fact, RequestFacts) and fact.track is Track.SOUND and fact.bytes == 999
    outcome = manifest.outcomes[KEY]
    assert isinstance(outcome, RequestOutcome) and outcome.ok and outcome.attempt == 2
    assert outcome.usage.audio == 128 and outcome.usage.thoughts == 12
    assert [h.finish_reason for h in manifest.history] == ["MAX_TOKENS"] and not manifest.history[0].ok
    assert isinstance(manifest.prompt_cache, PromptCache) and manifest.prompt_cache.deleted_at is None
    (item,) = manifest.items
    assert isinstance(item.answer, ItemAnswer) and item.answer.spans[0].chunk_indexes == [0]
    assert item.estimated_cost_usd == Decimal("0.0123") and manifest.budget_usd == Decimal("2.5")


def test_the_typed_manifest_round_trips_through_its_json_exactly() -> None:
    manifest = RunManifest.model_validate(EARLIER_MANIFEST)
    manifest.prompt_cache = manifest.prompt_cache.model_copy(
        update={"deleted_at": datetime(2026, 12, 1, 4, tzinfo=UTC)}
    )  # type: ignore[union-attr]
    again = RunManifest.model_validate(json.loads(manifest.model_dump_json()))
    assert again == manifest
    # money stays decimal text in the JSON, never a float that rounds
    assert json.loads(manifest.model_dump_json())["estimated_cost_usd"] == "0.012300000"
