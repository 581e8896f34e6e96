"""The rate limiter, measured exactly with a fake clock."""

from __future__ import annotations

import itertools

import anyio
import pytest

from reelform.providers.ratelimit import TokenBucket

pytestmark = pytest.mark.anyio


class FakeClock:
    """Time passes only when someone sleeps (plus ``lateness``: a busy event loop)."""

    def __init__(self, lateness: float = 0.0) -> None:
        self.now = 0.0
        self.lateness = lateness

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0) + self.lateness
        await anyio.lowlevel.checkpoint()


def bucket(clock: FakeClock, rate: float = 20, **kwargs: object) -> TokenBucket:
    return TokenBucket(rate, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def most_in_any(window: float, times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


async def test_a_batch_of_200_shared_by_20_tasks_runs_at_the_allowed_rate() -> None:
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
    assert limiter.interval == pytest.approx(3.0 * 1.02)  # 20 per minute, 2% margin
    assert most_in_any(60 * 1.02, times) == 20  # never more than the provider allows
    assert min(b - a for a, b in itertools.pairwise(times)) == pytest.approx(0.8 * 3.06)
    assert times[-1] == pytest.approx(9 * 61.2 + 19 * 0.8 * 3.06)
    assert 199 * 3.0 / times[-1] > 0.99  # of the allowed rate


async def test_late_wakeups_do_not_add_up() -> None:
    """Every waiter wakes 0.5 s late (a busy loop): the batch still keeps the pace."""
    clock = FakeClock(lateness=0.5)
    limiter = bucket(clock)
    times = []
    for _ in range(200):
        await limiter.acquire()
        times.append(clock.now)
    assert most_in_any(60.0, times) == 20
    assert 199 * 3.0 / times[-1] > 0.97  # a plain token bucket: about 85%


async def test_burst_allows_an_initial_run_then_the_spacing() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=60, burst=5, margin=0.0)
    times = []
    for _ in range(8):
        await limiter.acquire()
        times.append(clock.now)
    assert times == pytest.approx([0, 0, 0, 0, 0, 0.8, 0.8, 0.8])


async def test_idle_time_gives_no_burst_beyond_burst() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=60, burst=2, margin=0.0)
    await limiter.acquire()
    await limiter.acquire()
    clock.now = 100.0
    for _ in range(3):
        await limiter.acquire()
    assert clock.now == pytest.approx(100.8)


async def test_penalize_pauses_everyone_then_resumes_at_the_normal_spacing() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=60, margin=0.0)
    await limiter.acquire()  # t=0
    limiter.penalize(10)
    times = []
    for _ in range(3):
        await limiter.acquire()
        times.append(clock.now)
    assert times == pytest.approx([10.0, 10.8, 11.6])


async def test_penalize_from_many_tasks_keeps_the_longest_pause() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=60, margin=0.0)
    limiter.penalize(10)
    limiter.penalize(3)
    await limiter.acquire()
    assert clock.now == pytest.approx(10.0)


async def test_time_scale_shrinks_the_minute_and_the_penalty() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=20, time_scale=0.001, margin=0.0)
    assert limiter.interval == pytest.approx(0.003)
    await limiter.acquire()
    limiter.penalize(5)
    await limiter.acquire()
    assert clock.now == pytest.approx(0.005)  # 5 provider seconds, scaled


async def test_fractional_rates() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=0.5, margin=0.0)  # one request every two minutes
    for _ in range(3):
        await limiter.acquire()
    assert clock.now == pytest.approx(240.0)


async def test_cancelled_waiter_is_not_counted() -> None:
    clock = FakeClock()
    limiter = TokenBucket(1, clock=clock)  # real sleep: the second waiter blocks a minute
    await limiter.acquire()
    with anyio.move_on_after(0.01):
        await limiter.acquire()
    assert limiter.acquired == 1


def test_rejects_nonsense() -> None:
    for args in [(0,), (-1,), (10, 0)]:
        with pytest.raises(ValueError):
            TokenBucket(*args)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TokenBucket(10, margin=1.0)


async def test_real_clock_smoke() -> None:
    limiter = TokenBucket(600_000, burst=1)  # 0.1 ms apart
    with anyio.fail_after(2):
        for _ in range(50):
            await limiter.acquire()
