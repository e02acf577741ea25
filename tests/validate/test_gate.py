"""The validation gate of the commit stage and the re-ask of invalid answers, on hand-made manifests
(moto S3 on loopback; no model calls: the re-ask's sender is injected)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from pipeline.account import Usage
from pipeline.commit import stage_commit
from pipeline.config import Settings
from pipeline.errors import RunQualityError
from pipeline.models import ItemStatus, MediaType, PreparedChunk, ProbeResult, SourceObject
from pipeline.run import RunContext
from pipeline.run.state import AnswerSpan, ItemAnswer, ItemState, RequestFacts, RequestOutcome, request_key
from pipeline.storage import S3Location, S3Store
from pipeline.tables import read_table
from pipeline.validate import stage_validate

DT = date(2026, 11, 20)
VALID = json.dumps(
    {
        "summary": "A red scene.",
        "tags": ["red", "scene"],
        "language": "und",
        "segments": [{"start_s": 0.0, "end_s": 4.0, "label": "scene: red"}],
    }
)


def _item(dest: str, name: str, *, answer_end_s: float | None = None, duration_s: float = 10.0) -> ItemState:
    sha = (name * 64)[:64]
    item = ItemState(
        source=SourceObject(
            uri=f"s3://in/{name}.mp4",
            key=f"{name}.mp4",
            bytes=100,
            etag="e",
            sha256=sha,
            sniffed_type=MediaType.VIDEO,
        ),
        probe=ProbeResult(
            media_type=MediaType.VIDEO,
            format_name="mp4",
            duration_s=duration_s,
            width=64,
            height=64,
            has_video=True,
        ),
        fingerprint="f" * 16,
    )
    if answer_end_s is not None:  # answered by an earlier run: no request needed
        item.reused_from_run_id = "earlier"
        item.answer = ItemAnswer(
            summary="s",
            tags=["t"],
            language="und",
            answers=[],
            spans=[
                AnswerSpan(
                    start_s=0.0, end_s=answer_end_s, label="scene: red", description="", chunk_indexes=[0]
                )
            ],
        )
    return item


def _ctx(buckets, **settings) -> RunContext:  # noqa: ANN001
    source, dest = buckets
    return RunContext(Settings(source=source, dest=dest, **settings), DT, "run-gate", store=S3Store())


def test_rows_failing_a_suite_are_quarantined_and_the_run_fails_after_writing(buckets) -> None:  # noqa: ANN001
    ctx = _ctx(buckets, max_failure_share=0.4)
    manifest = ctx.new_manifest()
    manifest.items = [_item(ctx.dest.uri, "a", answer_end_s=4.0), _item(ctx.dest.uri, "b", answer_end_s=12.0)]
    ctx.save(manifest)
    with pytest.raises(
        RunQualityError, match=r"50% of 2 item\(s\).*expect_column_pair_values_a_to_be_greater_than_b"
    ) as caught:
        stage_commit(ctx)
    assert caught.value.failure_share == 0.5
    dt = DT.isoformat()
    media = {m["source_uri"]: m for m in read_table(ctx.store, ctx.dest, "media", dt).to_pylist()}
    assert media["s3://in/b.mp4"]["status"] == "quarantined" and media["s3://in/a.mp4"]["status"] == "ok"
    assert media["s3://in/b.mp4"]["reason"] == "expect_column_pair_values_a_to_be_greater_than_b"
    assert {s["source_uri"] for s in read_table(ctx.store, ctx.dest, "segments", dt).to_pylist()} == {
        "s3://in/a.mp4"
    }
    assert {a["source_uri"] for a in read_table(ctx.store, ctx.dest, "annotations", dt).to_pylist()} == {
        "s3://in/a.mp4"
    }
    (q,) = read_table(ctx.store, ctx.dest, "quarantine", dt).to_pylist()
    assert q["stage"] == "validate" and q["reason"] == "expect_column_pair_values_a_to_be_greater_than_b"
    assert "12.0" in q["detail"] and "10.0" in q["detail"]
    (run,) = read_table(ctx.store, ctx.dest, "runs", dt).to_pylist()
    assert (
        run["status"] == "failed_quality"
        and run["validation_success"] is False
        and run["items_quarantined"] == 1
    )
    results = ctx.store.get_json(ctx.dest.join("_validation", f"dt={dt}", "run-gate.json"))
    assert results["success"] is False and results["tables"]["runs"]["success"] is True
    assert results["quarantined_by_gate"][0]["source_uri"] == "s3://in/b.mp4"
    docs = ctx.store.get_bytes(S3Location.parse(results["data_docs"])).decode()
    assert "<html" in docs.lower()


def test_a_clean_run_passes_every_suite(buckets) -> None:  # noqa: ANN001
    ctx = _ctx(buckets)
    manifest = ctx.new_manifest()
    manifest.items = [_item(ctx.dest.uri, "a", answer_end_s=4.0)]
    ctx.save(manifest)
    summary = stage_commit(ctx)
    assert summary.status == "succeeded" and summary.validation_success is True


def _active(ctx: RunContext, name: str) -> ItemState:
    item = _item(ctx.dest.uri, name)
    chunk_loc = ctx.dest.join("_staging", "chunks", name)
    ctx.store.put_bytes(chunk_loc, b"chunk-bytes")
    item.prepared = [
        PreparedChunk(
            index=0, start_s=0.0, duration_s=10.0, mime_type="video/mp4", bytes=11, uri=chunk_loc.uri
        )
    ]
    return item


def _outcome(key: str, text: str) -> RequestOutcome:
    return RequestOutcome(key=key, mode="batch", status="ok", text=text, usage=Usage(video=100, output=10))


@pytest.mark.parametrize("second_answer_valid", [True, False])
def test_an_invalid_answer_is_reasked_once_with_the_error(buckets, second_answer_valid: bool) -> None:  # noqa: ANN001
    # inline: the re-ask carries the chunk's bytes (by URL on 3.x, it carries a signed URL of the same chunk)
    ctx = _ctx(buckets, max_failure_share=1.0, transport="inline")
    manifest = ctx.new_manifest()
    item = _active(ctx, "c")
    key = request_key(item.source.sha256, 0, item.fingerprint or "")
    manifest.items = [item]
    manifest.requests[key] = RequestFacts(
        source_uri=item.source.uri,
        chunk_index=0,
        chunk_start_s=0.0,
        chunk_end_s=10.0,
        model=ctx.settings.model,
        mime_type="video/mp4",
        bytes=len(b"chunk-bytes"),
    )
    manifest.outcomes[key] = _outcome(key, '{"summary": "no tags"}')
    ctx.save(manifest)
    prompts: list[str] = []

    def send(task, request) -> RequestOutcome:  # noqa: ANN001
        prompts.append(task.prompt)
        assert request.data == b"chunk-bytes"
        return RequestOutcome(
            key="x",
            mode="sync",
            status="ok",
            text=VALID if second_answer_valid else "{}",
            usage=Usage(video=100, output=20),
        )

    manifest = stage_validate(ctx, send=send)
    assert len(prompts) == 1 and "rejected by validation" in prompts[0] and "tags" in prompts[0]
    stage_validate(ctx, send=send)  # a retried stage does not ask a third time
    assert len(prompts) == 1
    summary = stage_commit(ctx)
    requests = read_table(ctx.store, ctx.dest, "requests", DT.isoformat()).to_pylist()
    assert [r["reask_of"] for r in requests] == [None, key]
    assert (
        summary.requests_reasked == 1
        and summary.cost_usd == sum((r["cost_usd"] for r in requests), Decimal(0)) > 0
    )
    item_status = ctx.load().items[0].status
    if second_answer_valid:
        assert item_status == ItemStatus.OK and summary.items_ok == 1
    else:
        assert item_status == ItemStatus.QUARANTINED
        quarantine = read_table(ctx.store, ctx.dest, "quarantine", DT.isoformat()).to_pylist()
        assert any("after a re-ask" in (q["detail"] or "") for q in quarantine)
