"""Where a destination keeps what is not a table: the run's staging area, the content-keyed chunks,
the ledgers that make a rerun pay nothing twice, and the validation results. One place names every
path, so a stage, a retry on another worker and a rerun months later all look in the same place.

    <dest>/_staging/runs/<run_id>/manifest.json               the run's state: its head
    <dest>/_staging/runs/<run_id>/state/                      ... and the parts it names (pipeline.run.shards)
    <dest>/_staging/runs/<run_id>/groups/prepare/<id>.json    a mapped prepare group's result
    <dest>/_staging/chunks/<sha256>/<fingerprint>/            prepared chunks (+ chunks.json): the only
                                                              objects ever handed out by signed URL
    <dest>/_ledger/batches/<group>.json                       a batch job paid for (intent, then job)
    <dest>/_ledger/requests/<model>/<request key>.json        a sync answer paid for
    <dest>/_ledger/claims/<model>/<request key>-<attempt>.json a run sending that request now
    <dest>/_ledger/answers/<models>/<task version>/<sha>.json a validated answer, reused by content
    <dest>/_validation/dt=D/<run_id>.json                     Great Expectations results
    <dest>/_validation/docs/dt=D/<run_id>/                    the same as Data Docs
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.storage.s3 import Leases, S3Location

CHUNK_INDEX = "chunks.json"
# Runs of other dates may send the same content with the same settings, so they share its chunks: each
# leases them while it prepares and sends them (pipeline.commit deletes only what no other run leases).
CHUNK_LEASES = "_leases"
# A lease not renewed for this long belongs to a run that died: longer than a batch job may run (48 h)
# plus the time from prepare to commit.
CHUNK_LEASE_STALE_S = 4 * 24 * 3600.0


@dataclass(frozen=True)
class S3Layout:
    dest: S3Location

    # the run ------------------------------------------------------------------------------------
    def staging(self, run_id: str) -> S3Location:
        return self.dest.join("_staging", "runs", run_id)

    def manifest(self, run_id: str) -> S3Location:
        return self.staging(run_id).join("manifest.json")

    def state_parts(self, run_id: str) -> S3Location:
        """Where the parts of the run's state live (the head, manifest.json, names the current ones)."""
        return self.staging(run_id).join("state")

    def item_shard(self, run_id: str, shard: int, digest: str) -> S3Location:
        return self.state_parts(run_id).join("items", f"{shard:05d}-{digest}.json")

    def batches_part(self, run_id: str, digest: str) -> S3Location:
        return self.state_parts(run_id).join(f"batches-{digest}.json")

    def group_results(self, run_id: str, stage: str) -> S3Location:
        return self.staging(run_id).join("groups", stage)

    def group_result(self, run_id: str, stage: str, group_id: str) -> S3Location:
        return self.group_results(run_id, stage).join(f"{group_id}.json")

    # content ------------------------------------------------------------------------------------
    def chunk_area(self) -> S3Location:
        """Where every item's prepared chunks live, each under `chunks(sha256, fingerprint)`."""
        return self.dest.join("_staging", "chunks")

    def chunks(self, sha256: str, fingerprint: str | None) -> S3Location:
        """Prepared chunks are keyed by content and settings, so equal inputs share them."""
        return self.chunk_area().join(sha256, fingerprint or "none")

    def signable(self) -> S3Location:
        """The prefix pre-signed URLs may point into (S3Store.presign_get refuses anything else): the
        prepared chunks, never manifests, ledgers or sources."""
        return self.chunk_area()

    def chunk_index(self, sha256: str, fingerprint: str | None) -> S3Location:
        return self.chunks(sha256, fingerprint).join(CHUNK_INDEX)

    def chunk_lease(self, sha256: str, fingerprint: str | None, run_id: str) -> S3Location:
        """An empty object saying that run uses these chunks: another run's commit leaves them be."""
        return self.chunks(sha256, fingerprint).join(CHUNK_LEASES, run_id)

    def chunk_leases(self, run_id: str) -> Leases:
        """The chunk leases as that run's commit reads them: its own goes, another live run's keeps."""
        return Leases(CHUNK_LEASES, run_id, CHUNK_LEASE_STALE_S)

    # ledgers ------------------------------------------------------------------------------------
    def batch_ledger(self) -> S3Location:
        return self.dest.join("_ledger", "batches")

    def request_ledger(self, model: str) -> S3Location:
        return self.dest.join("_ledger", "requests", model)

    def request_claims(self, model: str) -> S3Location:
        """Claims of sync requests being sent (If-None-Match), so overlapping runs send each once."""
        return self.dest.join("_ledger", "claims", model)

    def answer_ledger(self, models: str, task_version: str, sha256: str) -> S3Location:
        return self.dest.join("_ledger", "answers", models, task_version, f"{sha256}.json")

    # validation ---------------------------------------------------------------------------------
    def validation(self) -> S3Location:
        return self.dest.join("_validation")

    def validation_results(self, dt: str, run_id: str) -> S3Location:
        return self.validation().join(f"dt={dt}", f"{run_id}.json")

    def validation_docs(self, dt: str, run_id: str) -> S3Location:
        return self.validation().join("docs", f"dt={dt}", run_id)
