"""The scale benchmark end to end at a tiny size (machinery only: no timing asserts): a night of 12
distinct objects through the whole job on the embedded services, its counts checked against the night
and against the emulator's and the S3 server's own counters."""

from __future__ import annotations

import pytest

from pipeline_tools.bench.scale import ScaleConfig, run_size, size_rows


@pytest.mark.e2e
def test_the_scale_bench_runs_a_dozen_objects(tmp_path):
    cfg = ScaleConfig(cache_dir=tmp_path, long_videos=False, batch_delay_s=0.2, batch_poll_s=0.2)
    d = run_size(12, cfg, log=lambda _msg: None)
    assert d["mix"] == {"image": 9, "clip": 2, "audio": 1, "long": 0}
    assert d["run"]["status"] == "succeeded"
    assert (d["run"]["items_total"], d["run"]["items_ok"]) == (12, 12)
    gem = d["gemini"]
    assert gem["files_uploads"] == 0  # transport=url: every chunk by signed URL
    # one request per image and audio file, one or two (sound split) per clip; all of them as URLs
    assert 12 <= gem["payload_requests"] == gem["batch_requests"] <= 14
    assert gem["payload_with_inline_data"] == 0
    assert gem["url_fetches"]["fetched"] == gem["batch_requests"]
    assert d["s3"]["presigned_total"] == gem["batch_requests"]  # the same fetches, seen by the S3 server
    assert d["s3"]["requests_total"] > 12 and d["job"]["cpu_s"] > 0 and d["floor"]["chunks"] >= 12
    assert 0 < d["state_write"]["largest_put_bytes"] < 5e6
    assert set(d["run"]["stage_s"]) == {"discover", "plan", "prepare", "infer", "validate", "commit"}
    rows = {r.metric: r for r in size_rows(d)}
    assert rows["scale 12: Files API uploads (transport=url)"].passed is True
    assert rows["scale 12: whole job / floor (wall)"].target is None  # the 2x target is set at 10,000
