"""One dataset the pipeline produced on the embedded services (first run + a rerun that reuses the
answers), shared by the sql, report and validate tests: made once per session, copied to a local dir."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.commit import RunSummary
from pipeline.config import Settings
from pipeline.run import run_job
from pipeline.storage import S3Location, S3Store

DT = date(2026, 11, 12)
_CACHE: dict[str, PipelineDataset] = {}


@dataclass
class PipelineDataset:
    settings: Settings
    first: RunSummary
    rerun: RunSummary
    root: Path  # local copy of the destination (tables, _commits, _validation)

    @property
    def dest(self) -> S3Location:
        return S3Location.parse(self.settings.dest)


def download(store: S3Store, dest: S3Location, out: Path) -> Path:
    for obj in store.list(dest):
        relative = obj["Key"][len(dest.key) :].lstrip("/")
        if not relative.startswith(("_staging", "_ledger")):
            store.download(S3Location(dest.bucket, obj["Key"]), out / relative)
    return out


def pipeline_dataset(samples, tmp_path_factory) -> PipelineDataset:  # noqa: ANN001
    if "dataset" not in _CACHE:
        media_dir, _ = samples
        store = S3Store()
        source, dest = "s3://ds-source/incoming", "s3://ds-dest/results"
        for bucket in ("ds-source", "ds-dest"):
            store.ensure_bucket(bucket)
        for path in sorted(media_dir.iterdir()):
            if path.is_file() and path.name != "ground_truth.json":
                store.upload(path, S3Location.parse(f"{source}/dt={DT.isoformat()}/{path.name}"))
        settings = Settings(source=source, dest=dest, batch_poll_seconds=0.3)
        first = run_job(settings, DT, store=store)
        rerun = run_job(settings, DT, store=store)
        assert isinstance(first, RunSummary) and isinstance(rerun, RunSummary)
        root = download(store, S3Location.parse(dest), tmp_path_factory.mktemp("dataset"))
        _CACHE["dataset"] = PipelineDataset(settings, first, rerun, root)
    return _CACHE["dataset"]
