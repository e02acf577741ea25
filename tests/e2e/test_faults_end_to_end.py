"""Whole runs that meet a fault a user will meet: S3 refusing a permission, a Gemini key the service does
not accept, answers that are not the task's JSON. Each ends with the project's error class and a message
that says what to fix (or, for bad answers, quarantine rows), never a traceback or a paid retry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import pytest
import requests

from gemini_emulator import EmulatorConfig, GeminiEmulator
from pipeline.commit import RunSummary
from pipeline.config import Settings
from pipeline.errors import ConfigError, StorageAccessError
from pipeline.gemini.client import GeminiClient, GeminiConnection
from pipeline.infer import stage_infer
from pipeline.storage import S3Connection, S3Location, S3Store
from pipeline.tables.reader import read_table

pytestmark = pytest.mark.e2e
DT = date(2026, 11, 3)
RIGHT_KEY = "the-key-of-this-project"


def _upload(store: S3Store, source: str, media_dir: Path, names: list[str]) -> None:
    root = S3Location.parse(source).join(f"dt={DT.isoformat()}")
    for name in names:
        store.upload(media_dir / name, root.join(name))


@pytest.fixture
def strict_emulator() -> Iterator[GeminiEmulator]:
    """An emulator that accepts one key only, as the service does."""
    with GeminiEmulator(
        EmulatorConfig(batch_pending_s=0.1, batch_running_s=0.2, api_keys=[RIGHT_KEY])
    ) as emu:
        yield emu


def _key(emu: GeminiEmulator, key: str) -> GeminiConnection:
    return GeminiConnection(api_key=key, base_url=emu.base_url)


@pytest.mark.parametrize("mode", ["batch", "sync"])
def test_a_wrong_gemini_key_stops_the_run_before_anything_is_paid(
    services, samples, buckets, strict_emulator, mode: str
) -> None:  # noqa: ANN001
    media_dir, _ = samples
    source, dest = buckets
    store = S3Store()
    _upload(store, source, media_dir, ["photo_large.jpg", "scenes_a.mp4"])
    from pipeline.run import run_job

    with pytest.raises(ConfigError, match="Gemini refused the API key.*GEMINI_API_KEY"):
        run_job(
            Settings(source=source, dest=dest, mode=mode),
            DT,
            store=store,
            connection=_key(strict_emulator, "typo"),
        )
    assert strict_emulator.stats()["responses_generated"] == {}
    assert read_table(store, S3Location.parse(dest), "runs").num_rows == 0


def test_a_key_revoked_between_plan_and_infer_fails_infer_instead_of_quarantining_every_item(
    services, samples, buckets, strict_emulator
) -> None:  # noqa: ANN001
    # The Airflow case: plan ran with the old key; by the time infer runs (sync), the key is revoked.
    from pipeline.discover import stage_discover
    from pipeline.plan import stage_plan
    from pipeline.prepare import stage_prepare
    from pipeline.run import RunContext, new_run_id

    media_dir, _ = samples
    source, dest = buckets
    store = S3Store()
    _upload(store, source, media_dir, ["photo_large.jpg", "scenes_a.mp4"])
    ctx = RunContext(Settings(source=source, dest=dest, mode="sync"), DT, new_run_id(DT), store=store)
    try:
        stage_discover(ctx)
        stage_plan(ctx, GeminiClient(_key(strict_emulator, RIGHT_KEY)))
        stage_prepare(ctx)
        with pytest.raises(ConfigError, match="refused the API key"):
            stage_infer(ctx, GeminiClient(_key(strict_emulator, "revoked")))
        manifest = ctx.load()
    finally:
        ctx.close()
    assert manifest.outcomes == {}  # no request recorded as failed: a fixed key resumes the run
    assert all(item.status.value == "ok" for item in manifest.items)


def test_answers_that_are_not_json_become_quarantine_rows_after_one_reask(services, samples, buckets) -> None:  # noqa: ANN001
    media_dir, _ = samples
    source, dest = buckets
    store = S3Store()
    _upload(store, source, media_dir, ["photo_large.jpg"])
    from pipeline.run import run_job

    config = EmulatorConfig(batch_pending_s=0.1, batch_running_s=0.2, faults={"malformed_json": 1.0})
    with GeminiEmulator(config) as emu:
        settings = Settings(source=source, dest=dest, mode="sync", max_failure_share=1.0)
        summary = run_job(settings, DT, store=store, connection=_key(emu, "any"))
    assert isinstance(summary, RunSummary)
    assert summary.items_quarantined == 1 and summary.requests_reasked == 1
    quarantine = read_table(store, S3Location.parse(dest), "quarantine", DT.isoformat()).to_pylist()
    assert [(q["stage"], q["reason"]) for q in quarantine] == [("validate", "malformed_json")]
    assert "after a re-ask" in quarantine[0]["detail"]


@pytest.fixture
def s3_user_without_write(services) -> Iterator[S3Connection]:  # noqa: ANN001
    """An IAM user that may list and read but not write, with moto checking every signature and
    permission until the test ends."""
    endpoint = services.s3_endpoint
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    name = f"reader-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"}]}  # fmt: skip
    iam.put_user_policy(UserName=name, PolicyName="read-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    previous = requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).json()
    try:
        yield S3Connection.model_validate(
            {
                "endpoint_url": endpoint,
                "region": "us-east-1",
                "access_key_id": key["AccessKeyId"],
                "secret_access_key": key["SecretAccessKey"],
                "retries": 0,
            }
        )
    finally:
        restore = str(previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]).encode()
        requests.post(f"{endpoint}/moto-api/reset-auth", data=restore, timeout=10)


def test_s3_refusing_a_write_stops_the_run_naming_the_bucket_and_the_permission(
    services, samples, buckets, request
) -> None:  # noqa: ANN001
    media_dir, _ = samples
    source, dest = buckets
    _upload(S3Store(), source, media_dir, ["photo_large.jpg"])  # as the admin, before IAM is enforced
    from pipeline.run import run_job

    generated_before = services.emulator.stats()["responses_generated"]
    store = S3Store(connection=request.getfixturevalue("s3_user_without_write"))
    with pytest.raises(StorageAccessError, match=r"s3:PutObject") as raised:
        run_job(Settings(source=source, dest=dest), DT, store=store)
    assert raised.value.bucket == S3Location.parse(dest).bucket
    assert services.emulator.stats()["responses_generated"] == generated_before  # nothing was paid
