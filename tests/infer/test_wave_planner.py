"""The wave planner: jobs under the per-job limits, waves under the job and enqueued-token caps."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.infer.waves import Job, Sized, enqueued_token_cap, max_jobs_in_flight, next_wave, plan_jobs

MB = 1_000_000
INLINE_CAP = 20_971_520  # 20 MiB: the catalog's batch_inline_total_max_bytes


def test_25_mb_of_inline_requests_make_two_jobs() -> None:
    # 25 requests of 1 MB: 20 fit under 20,971,520 bytes (21 would be 21,000,000), the other 5 go next
    requests = [Sized(f"k{i:02d}", 100, MB) for i in range(25)]
    jobs = plan_jobs(requests, max_job_bytes=INLINE_CAP)
    assert [len(j) for j in jobs] == [20, 5]
    assert jobs[0][0] == "k00" and jobs[1] == ["k20", "k21", "k22", "k23", "k24"]


def test_the_split_is_the_same_whatever_order_the_keys_come_in() -> None:
    requests = [Sized(f"k{i}", 10, 3 * MB) for i in range(9)]
    assert plan_jobs(requests, max_job_bytes=INLINE_CAP) == plan_jobs(
        list(reversed(requests)), max_job_bytes=INLINE_CAP
    )


def test_a_token_cap_splits_jobs_and_waves() -> None:
    # 10 requests of 300 tokens under a 1,000-token cap: jobs of 3 (900), the 10th alone: 4 jobs;
    # at most 1,000 enqueued means one job in flight at a time: 4 waves
    requests = [Sized(f"k{i}", 300, 5_000) for i in range(10)]
    jobs = plan_jobs(requests, max_job_bytes=INLINE_CAP, max_job_tokens=1_000)
    assert [len(j) for j in jobs] == [3, 3, 3, 1]
    todo = [Job("m", tuple(j), 300 * len(j)) for j in jobs]
    waves = 0
    while todo:
        wave = next_wave(todo, [], max_jobs=100, token_caps={"m": 1_000})
        assert sum(j.tokens for j in wave) <= 1_000
        todo = [j for j in todo if j not in wave]
        waves += 1
    assert waves == 4


def test_a_wave_fits_beside_the_jobs_in_flight() -> None:
    todo = [Job("m", (f"a{i}",), 400) for i in range(4)] + [Job("other", ("b",), 400)]
    flying = [Job("m", ("x",), 500)]
    # m: 500 in flight + 400 = 900 <= 1,000, the next would be 1,300; `other` has no cap; 3 jobs at most
    wave = next_wave(todo, flying, max_jobs=3, token_caps={"m": 1_000, "other": None})
    assert [j.keys for j in wave] == [("a0",), ("b",)]
    assert next_wave(todo, flying * 3, max_jobs=3, token_caps={}) == []


def test_a_job_over_the_cap_alone_goes_when_nothing_of_its_model_flies() -> None:
    big = Job("m", ("huge",), 5_000)
    assert next_wave([big], [], max_jobs=100, token_caps={"m": 1_000}) == [big]
    assert next_wave([big], [Job("m", ("x",), 1)], max_jobs=100, token_caps={"m": 1_000}) == []


def test_caps_come_from_the_catalog_or_the_setting() -> None:
    assert max_jobs_in_flight(None) == 100
    assert max_jobs_in_flight(2) == 2
    assert enqueued_token_cap("tier1", "gemini-3.8-flash") == 3_000_000
    assert enqueued_token_cap("tier1", "gemini-3.1-pro-preview") is None  # no documented cap
    assert enqueued_token_cap("12345", "gemini-3.8-flash") == 12_345
    assert enqueued_token_cap("none", "gemini-3.8-flash") is None
    with pytest.raises(ConfigError, match="tier9"):
        enqueued_token_cap("tier9", "gemini-3.8-flash")
