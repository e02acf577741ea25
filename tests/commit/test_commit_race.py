"""Two runs committing one date at the same instant, on moto's S3 server: exactly one conditional PUT
wins each round, the loser re-reads and commits on top, so the manifest lists both runs' ledger files
and the later run's replaced tables; neither run's file is lost or deleted under the other."""

from __future__ import annotations

import threading

from pipeline.commit.writer import commit, write_file
from pipeline.storage import S3Location, S3Store
from pipeline.tables.reader import commit_manifest_loc

DT = "2026-12-02"


def test_racing_commits_both_land_and_one_wins_each_round(buckets) -> None:  # noqa: ANN001
    store = S3Store()
    dest = S3Location.parse(buckets[1])
    written = {
        rid: [
            write_file(store, dest, "quarantine", DT, rid, []),
            write_file(store, dest, "runs", DT, rid, []),
        ]
        for rid in ("run-a", "run-b")
    }
    start = threading.Barrier(2)
    docs: dict[str, dict[str, object]] = {}

    def go(rid: str) -> None:
        start.wait()
        docs[rid] = commit(store, dest, DT, rid, written[rid])

    threads = [threading.Thread(target=go, args=(rid,)) for rid in written]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    final = store.get_json(commit_manifest_loc(dest, DT))
    listed = {(f["table"], f["run_id"]) for f in final["files"]}
    # The ledger table keeps both runs; the replaced table holds the last committer's file only.
    assert {("runs", "run-a"), ("runs", "run-b")} <= listed
    assert [r for t, r in listed if t == "quarantine"] == [final["run_id"]]
    present = {o["Key"].rsplit("/", 1)[-1] for o in store.list(dest.join("runs"))}
    assert present == {"part-run-a.parquet", "part-run-b.parquet"}
