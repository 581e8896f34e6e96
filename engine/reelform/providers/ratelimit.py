"""A token bucket shared by every task that POSTs to one provider with one API key.

JoggAI allows 20 POST requests per minute per key. Requests are spaced rather than
burst: with the default ``burst`` of 1, two acquisitions are never closer than
``60 / rate`` seconds, so neither a sliding nor a fixed one-minute window on the
provider's side ever sees more than ``rate`` requests, and a batch still runs at the
full allowed rate. A 429 nevertheless (another client using the same key) pauses
everyone sharing the bucket for the server's ``Retry-After`` via ``penalize``.

Waiters are served first come, first served (``anyio.Lock`` is fair), which keeps a
batch of many tasks from starving any one of them. ``clock`` and ``sleep`` are
injectable so the rate can be tested exactly with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio


class TokenBucket:
    def __init__(
        self,
        rate_per_minute: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        time_scale: float = 1.0,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.rate_per_minute = rate_per_minute
        self.burst = burst or 1
        self.time_scale = time_scale
        self._clock = clock
        self._sleep = sleep or anyio.sleep
        # A scaled minute: with time_scale 0.001 the bucket runs 1000 times faster.
        self._interval = 60.0 * time_scale / rate_per_minute
        self._tokens = float(self.burst)
        self._updated = clock()
        self._paused_until = float("-inf")
        self._lock = anyio.Lock()
        self.acquired = 0

    @property
    def interval(self) -> float:
        """Seconds (on ``clock``) between two tokens."""
        return self._interval

    def _refill(self, now: float) -> None:
        start = max(self._updated, self._paused_until)
        if now > start:
            self._tokens = min(float(self.burst), self._tokens + (now - start) / self._interval)
        self._updated = max(now, self._updated)

    def _wait_time(self, now: float) -> float:
        """How long until one token is available (0 when it is now)."""
        self._refill(now)
        if now < self._paused_until:
            return self._paused_until - now + max(0.0, 1.0 - self._tokens) * self._interval
        return max(0.0, (1.0 - self._tokens) * self._interval)

    async def acquire(self) -> None:
        """Wait for a token and take it."""
        async with self._lock:
            while (wait := self._wait_time(self._clock())) > 1e-9:
                await self._sleep(wait)
            self._tokens -= 1.0
            self.acquired += 1

    def penalize(self, seconds: float) -> None:
        """Stop everyone for ``seconds`` provider seconds (a ``Retry-After``).

        Tokens do not accrue during the pause, so requests resume at the normal pace
        instead of in a burst the provider would answer with another 429.
        """
        now = self._clock()
        self._refill(now)
        self._paused_until = max(self._paused_until, now + max(0.0, seconds) * self.time_scale)
        # Exactly one request goes the moment the pause ends, then the normal pace.
        self._tokens = 1.0
