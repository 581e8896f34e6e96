"""The token bucket, measured exactly with a fake clock."""

from __future__ import annotations

import itertools

import anyio
import pytest

from reelform.providers.ratelimit import TokenBucket

pytestmark = pytest.mark.anyio


class FakeClock:
    """Time passes only when someone sleeps; sleepers yield so other tasks run."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()


def bucket(clock: FakeClock, rate: float = 20, **kwargs: object) -> TokenBucket:
    return TokenBucket(rate, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


async def test_many_tasks_get_exactly_the_rate_and_never_closer_than_the_interval() -> None:
    clock = FakeClock()
    limiter = bucket(clock)
    times: list[float] = []

    async def worker() -> None:
        for _ in range(10):
            await limiter.acquire()
            times.append(clock.now)

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(worker)
    assert len(times) == 200 and limiter.acquired == 200
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(3.0)  # 20 per minute: one every 3 s
    assert times[-1] == pytest.approx(199 * 3.0)  # the whole batch at the full rate
    # No 60-second window ever holds more than 20 acquisitions.
    assert max(sum(1 for t in times if start <= t < start + 60) for start in times) == 20


async def test_burst_allows_an_initial_run_then_the_rate() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=60, burst=5)
    times = []
    for _ in range(8):
        await limiter.acquire()
        times.append(clock.now)
    assert times[:5] == [0, 0, 0, 0, 0]
    assert times[5:] == pytest.approx([1.0, 2.0, 3.0])


async def test_tokens_accrue_while_idle_up_to_burst_only() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=60, burst=2)
    await limiter.acquire()
    await limiter.acquire()
    clock.now = 100.0
    for _ in range(3):
        await limiter.acquire()
    assert clock.now == pytest.approx(101.0)  # two saved tokens, then one second


async def test_penalize_pauses_everyone_then_resumes_at_the_normal_pace() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=60)
    await limiter.acquire()  # t=0
    limiter.penalize(10)
    times = []
    for _ in range(3):
        await limiter.acquire()
        times.append(clock.now)
    assert times == pytest.approx([10.0, 11.0, 12.0])


async def test_time_scale_shrinks_the_minute_and_the_penalty() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=20, time_scale=0.001)
    assert limiter.interval == pytest.approx(0.003)
    await limiter.acquire()
    limiter.penalize(5)
    await limiter.acquire()
    assert clock.now == pytest.approx(0.005)  # 5 provider seconds, scaled


async def test_cancelled_waiter_takes_no_token() -> None:
    clock = FakeClock()
    limiter = TokenBucket(60, clock=clock)  # real sleep: the waiter blocks for a second
    await limiter.acquire()
    with anyio.move_on_after(0.01):
        await limiter.acquire()
    assert limiter.acquired == 1


def test_rejects_nonsense() -> None:
    for args in [(0,), (-1,), (10, 0)]:
        with pytest.raises(ValueError):
            TokenBucket(*args)  # type: ignore[arg-type]


async def test_real_clock_smoke() -> None:
    limiter = TokenBucket(600_000)  # 0.1 ms interval
    with anyio.fail_after(2):
        for _ in range(50):
            await limiter.acquire()
