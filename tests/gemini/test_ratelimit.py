from pipeline.infer.ratelimit import RateLimiter
from pipeline.infer.retry import backoff_delay, server_retry_delay


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rpm_spreads_requests_over_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=3, tpm=None, clock=clock, sleep=clock.sleep, margin_s=0)
    starts = []
    for _ in range(7):
        limiter.acquire()
        starts.append(clock.now)
    assert starts[:3] == [0.0, 0.0, 0.0]
    assert 60.0 <= starts[3] < 61 and 60.0 <= starts[5] < 61
    assert 120.0 <= starts[6] < 121
    # never more than 3 starts in any 60 s window
    assert all(sum(1 for t in starts if s <= t < s + 60) <= 3 for s in starts)


def test_tpm_waits_until_enough_tokens_left_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=None, tpm=1000, clock=clock, sleep=clock.sleep, margin_s=0)
    limiter.acquire(600)
    clock.now = 10.0
    limiter.acquire(300)
    limiter.acquire(400)  # 1300 > 1000: must wait for the first (600) to expire at t=60
    assert 60.0 <= clock.now < 61


def test_server_pause_holds_every_caller() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=None, tpm=None, clock=clock, sleep=clock.sleep)
    limiter.pause(7.0)
    waited = limiter.acquire()
    assert waited >= 7.0 and clock.now >= 7.0


def test_retry_info_delay_is_read_from_the_error_details() -> None:
    class Err(Exception):
        details = {
            "error": {
                "code": 429,
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}],
            }
        }

    assert server_retry_delay(Err()) == 2.5
    assert server_retry_delay(ValueError()) is None


def test_backoff_is_bounded_and_grows() -> None:
    import random

    rng = random.Random(1)
    assert all(0 <= backoff_delay(1, rng=rng) <= 1.0 for _ in range(50))
    assert max(backoff_delay(4, rng=rng) for _ in range(200)) > 4.0
    assert all(backoff_delay(20, cap=30, rng=rng) <= 30 for _ in range(50))
