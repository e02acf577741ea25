"""Shared fixtures. Airflow reads its configuration at import, so its environment is set here, before
any test module imports it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURE_MEDIA = REPO.parent / "shared" / "fixtures" / "media"

# One Airflow home and SQLite DB per test process, always assigned: pytest-xdist's workers inherit the
# controller's environment, so a home set only when missing was one DB for every worker, and one
# worker's `db.resetdb()` removed the task instances of another's dag.test() ("Task Instance not found").
# Every temp file of a test process (and of the processes it starts: TMPDIR is inherited) goes under one
# directory removed when the process exits: a test that leaves a run's scratch behind, or kills a run
# before it cleans up, leaves nothing in /tmp.
_TEST_TMP = Path(tempfile.mkdtemp(prefix="gmp-tests-"))
os.environ["TMPDIR"] = str(_TEST_TMP)
tempfile.tempdir = str(_TEST_TMP)
atexit.register(shutil.rmtree, _TEST_TMP, ignore_errors=True)
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
# The tests always run on the embedded services: never on a developer's real credentials.
for var in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "AWS_PROFILE"):
    os.environ.pop(var, None)


@pytest.fixture(scope="session")
def services() -> Iterator[object]:
    """moto's S3 server and the Gemini emulator on loopback, with the env pointing at them."""
    from pipeline_tools.embedded import embedded_services

    with embedded_services(batch_delay_s=0.6) as running:
        yield running


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Generated sample media with ground truth (made once per session)."""
    from pipeline_tools.samples import generate_samples

    out = tmp_path_factory.mktemp("samples")
    truth = generate_samples(out)
    return out, truth


@pytest.fixture
def buckets(services, request: pytest.FixtureRequest) -> tuple[str, str]:  # noqa: ANN001
    """A fresh source and destination bucket for one test."""
    import re
    import uuid

    from pipeline.storage import S3Store

    stem = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:30].strip("-")
    suffix = uuid.uuid4().hex[:6]
    source, dest = f"in-{stem}-{suffix}", f"out-{stem}-{suffix}"
    store = S3Store()
    store.ensure_bucket(source)
    store.ensure_bucket(dest)
    return f"s3://{source}/incoming", f"s3://{dest}/results"
