"""A rate limiter shared by every task that POSTs to one provider with one API key.

JoggAI allows 20 POST requests per minute per key. ``TokenBucket`` enforces two rules:

1. The provider's own: at most ``rate`` requests in any window of a minute, made
   ``margin`` (2%) longer so that network jitter between our clock and the
   provider's cannot put a 21st request into its window.
2. Smoothness: consecutive requests at least ``0.8 * 60 s / rate`` apart (with
   ``burst`` > 1: at most ``burst`` requests within that spacing), so a batch is spread
   over the minute instead of fired at once.

Why a window and not the classic "one token every 3 s": a waiter that wakes late
(timer overshoot, a busy event loop, a GC pause) then delays only the one request
that is a full window later, not every request after it; the spacing rule being
looser than the pace lets the batch catch up. A plain token bucket loses every
late wake-up for good, which in a long batch adds up to several percent of the
allowed rate.

A 429 nevertheless (another client using the same key) pauses everyone sharing the
limiter for the server's ``Retry-After`` via ``penalize``. Waiters are served first
come, first served (``anyio.Lock`` is fair). ``clock`` and ``sleep`` are injectable,
so the rate is tested exactly with a fake clock.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar

import anyio

#: Minimum gap between consecutive requests, as a share of the average gap.
SPACING = 0.8
#: Limiters whose next ``acquire`` in this task is already paid for (``ahead``).
_PREPAID: ContextVar[frozenset[int]] = ContextVar("reelform_prepaid", default=frozenset())


class TokenBucket:
    def __init__(
        self,
        rate_per_minute: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        time_scale: float = 1.0,
        margin: float = 0.02,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        if burst is not None and burst < 1:
            raise ValueError("burst must be at least 1")
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if not 0 <= margin < 1:
            raise ValueError("margin must be in [0, 1)")
        self.rate_per_minute = rate_per_minute
        self.burst = burst or 1
        self.time_scale = time_scale
        self._clock = clock
        self._sleep = sleep or anyio.sleep
        # A fractional rate (2.5/min) becomes a whole count over a longer window
        # (2 per 48 s). With time_scale 0.001 the minute lasts 60 ms.
        self._count = max(1, math.floor(rate_per_minute))
        self._window = 60.0 * time_scale * (1.0 + margin) * self._count / rate_per_minute
        self._spacing = SPACING * self._window / self._count
        self._recent: deque[float] = deque(maxlen=max(self._count, self.burst))
        self._paused_until = float("-inf")
        self._lock = anyio.Lock()
        self.acquired = 0

    @property
    def interval(self) -> float:
        """Average seconds (on ``clock``) between two requests at the full rate."""
        return self._window / self._count

    def _ready_at(self) -> float:
        ready = self._paused_until
        recent = self._recent
        if len(recent) >= self._count:
            ready = max(ready, recent[-self._count] + self._window)
        if len(recent) >= self.burst:
            ready = max(ready, recent[-self.burst] + self._spacing)
        return ready

    async def acquire(self) -> None:
        """Wait until a request may go, and count it."""
        prepaid = _PREPAID.get()
        if id(self) in prepaid:
            _PREPAID.set(prepaid - {id(self)})
            return
        async with self._lock:
            while (wait := self._ready_at() - self._clock()) > 1e-9:
                await self._sleep(wait)
            self._recent.append(self._clock())
            self.acquired += 1

    @contextlib.asynccontextmanager
    async def ahead(self) -> AsyncIterator[None]:
        """Take the token of this task's next request now; its ``acquire`` is then free.

        For a caller that must do something at the last moment before a request
        leaves, e.g. make a submit's intent durable after the wait, not before it.
        """
        await self.acquire()
        token = _PREPAID.set(_PREPAID.get() | {id(self)})
        try:
            yield
        finally:
            _PREPAID.reset(token)

    def penalize(self, seconds: float) -> None:
        """Stop everyone for ``seconds`` provider seconds (a ``Retry-After``).

        After the pause requests resume at the normal spacing, never in a burst the
        provider would answer with another 429.
        """
        resume = self._clock() + max(0.0, seconds) * self.time_scale
        self._paused_until = max(self._paused_until, resume)
