"""Sync claims of overlapping runs (pipeline.infer.ledgers) on moto's S3 server: a claim whose run is
alive is refreshed while its request is in flight, so the other run waits for its answer however long
it takes (past the stale interval) and never sends it again; a claim nobody refreshes any more (its run
died, or released it) goes stale after the interval and is taken over."""

from __future__ import annotations

import threading
import time

import pytest

from pipeline.errors import TransientError
from pipeline.infer.ledgers import ClaimKeeper, RequestLedger, claim_age_s
from pipeline.run.state import RequestOutcome
from pipeline.storage import S3Location, S3Store

STALE_S = 1.2  # refreshed every 0.4 s
MODEL = "gemini-3.8-flash"


def _ledger(dest: str, keeper: ClaimKeeper | None = None) -> RequestLedger:
    return RequestLedger(S3Store(), S3Location.parse(dest), MODEL, stale_s=STALE_S, keeper=keeper)


def test_a_request_in_flight_longer_than_the_stale_interval_is_not_sent_twice(buckets) -> None:  # noqa: ANN001
    _, dest = buckets
    with ClaimKeeper(S3Store(), STALE_S) as keeper:
        first = _ledger(dest, keeper)
        assert first.claim("k1", 1, "run-a")
        time.sleep(STALE_S * 2.5)  # the request is still in flight
        second = _ledger(dest)
        assert not second.claim("k1", 1, "run-b")  # refreshed: live, not stale
        assert keeper.refreshes >= 3 and not keeper.lost

        def answer_later() -> None:
            time.sleep(STALE_S * 1.5)
            first.put(RequestOutcome(key="k1", mode="sync", status="ok", text="{}"))
            first.release("k1", 1)

        sender = threading.Thread(target=answer_later)
        started = time.monotonic()
        sender.start()
        found = second.wait({"k1": 1}, lambda _: None)
        sender.join()
    assert set(found) == {"k1"} and found["k1"].text == "{}"
    assert time.monotonic() - started >= STALE_S * 1.5  # waited past the stale interval for the answer


def test_a_claim_nobody_refreshes_goes_stale_and_is_taken_over(buckets) -> None:  # noqa: ANN001
    _, dest = buckets
    with ClaimKeeper(S3Store(), STALE_S) as keeper:
        dead = _ledger(dest, keeper)
        assert dead.claim("k2", 1, "run-a")
    # the keeper is closed: as when its run was killed, nothing refreshes the claim any more
    other = _ledger(dest)
    assert not other.claim("k2", 1, "run-b")  # still fresh
    started = time.monotonic()
    assert other.wait({"k2": 1}, lambda _: None) == {}  # left out once stale, not waited on forever
    waited = time.monotonic() - started
    assert STALE_S * 0.5 <= waited <= STALE_S * 3, waited
    assert other.claim("k2", 1, "run-b")  # taken over
    doc = S3Store().get_json(S3Location.parse(dest).join("_ledger", "claims", MODEL, "k2-1.json"))
    assert doc["run_id"] == "run-b" and claim_age_s(doc) < STALE_S


def test_a_refresh_that_lost_its_claim_stops_keeping_it(buckets) -> None:  # noqa: ANN001
    _, dest = buckets
    store = S3Store()
    with ClaimKeeper(store, STALE_S) as keeper:
        mine = _ledger(dest, keeper)
        assert mine.claim("k3", 1, "run-a")
        loc = S3Location.parse(dest).join("_ledger", "claims", MODEL, "k3-1.json")
        store.put_json(loc, {"run_id": "run-b", "claimed_at": "2026-01-01T00:00:00+00:00"})  # taken over
        keeper.refresh()
        assert keeper.lost == [loc.uri] and keeper.held() == []
        assert store.get_json(loc)["run_id"] == "run-b"  # the other run's claim is left alone


def test_a_wait_on_a_live_claim_stops_at_its_cap_naming_the_run_that_holds_it(buckets) -> None:  # noqa: ANN001
    _, dest = buckets
    with ClaimKeeper(S3Store(), STALE_S) as keeper:
        holder = _ledger(dest, keeper)
        assert holder.claim("k4", 1, "run-a")  # run-a keeps it fresh and never answers
        waiter = RequestLedger(S3Store(), S3Location.parse(dest), MODEL, stale_s=STALE_S, wait_s=STALE_S * 2)
        started = time.monotonic()
        with pytest.raises(TransientError, match=r"run run-a has held 1 request\(s\).*pay for them twice"):
            waiter.wait({"k4": 1}, lambda _: None)
        waited = time.monotonic() - started
        assert not keeper.lost
    assert STALE_S * 2 <= waited <= STALE_S * 2 + 3, waited  # past the stale interval, still live: the cap
