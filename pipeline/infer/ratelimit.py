"""Client-side limits for sync mode: requests and tokens per minute over a sliding window, so a run
stays under its quota instead of collecting 429s."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Blocks `acquire(tokens)` until one more request of that many tokens fits in the last 60 s."""

    WINDOW_S = 60.0

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin_s: float = 0.5,
    ) -> None:
        self.rpm, self.tpm = rpm, tpm
        # The server stamps a request when it arrives, a little after we do: a slightly longer window
        # here keeps the two windows from disagreeing at their edges (which would cost a 429).
        self.window_s = self.WINDOW_S + margin_s
        self._clock, self._sleep = clock, sleep
        self._sent: deque[tuple[float, int]] = deque()
        self._tokens = 0
        self._lock = threading.Lock()
        self._paused_until = 0.0

    def _expire(self, now: float) -> None:
        while self._sent and now - self._sent[0][0] >= self.window_s:
            self._tokens -= self._sent.popleft()[1]

    def _wait_time(self, now: float, tokens: int) -> float:
        waits = [self._paused_until - now]
        if self.rpm is not None and len(self._sent) >= self.rpm:
            waits.append(self._sent[0][0] + self.window_s - now)
        if self.tpm is not None and self._sent and self._tokens + tokens > self.tpm:
            # free enough of the window's oldest requests to fit this one
            freed, needed = 0, self._tokens + tokens - self.tpm
            for sent_at, sent_tokens in self._sent:
                freed += sent_tokens
                if freed >= needed:
                    waits.append(sent_at + self.window_s - now)
                    break
        return max(waits)

    def acquire(self, tokens: int = 0) -> float:
        """Wait for room, record the request; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._expire(now)
                delay = self._wait_time(now, tokens)
                if delay <= 0:
                    self._sent.append((now, tokens))
                    self._tokens += tokens
                    return waited
            self._sleep(min(delay, 5.0))
            waited += min(delay, 5.0)

    def pause(self, seconds: float) -> None:
        """The server said 'retry after N s' (429 RetryInfo): hold every caller back that long."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)
