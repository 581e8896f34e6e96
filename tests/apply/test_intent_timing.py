"""The submit intent is recorded once the request may leave, not while it queues.

``TokenBucket.ahead`` lets the executor take the rate-limit token before it makes
the intent durable; the provider's own ``acquire`` inside the block is then free.
"""

from __future__ import annotations

import anyio
import pytest

from reelform.providers.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_ahead_pays_the_next_acquire_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, clock=clock, sleep=clock.sleep, margin=0.0)
    async with bucket.ahead():
        assert bucket.acquired == 1
        await bucket.acquire()  # the provider's acquire: already paid
        assert bucket.acquired == 1 and clock.now == 0.0
        await bucket.acquire()  # a retry inside the block pays again
        assert bucket.acquired == 2
    await bucket.acquire()  # the window (2 per 60 s) is full now
    assert bucket.acquired == 3 and clock.now == pytest.approx(60.0)


@pytest.mark.anyio
async def test_an_unused_prepaid_token_does_not_leak_out_of_the_block() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60, clock=clock, sleep=clock.sleep, margin=0.0)
    async with bucket.ahead():
        pass  # the request was never made (e.g. refused before sending)
    await bucket.acquire()
    assert bucket.acquired == 2


@pytest.mark.anyio
async def test_prepaid_tokens_belong_to_their_task() -> None:
    clock = FakeClock()
    bucket = TokenBucket(600, clock=clock, sleep=clock.sleep, margin=0.0)
    inside = anyio.Event()
    done = anyio.Event()

    async def other_task() -> None:
        await inside.wait()
        await bucket.acquire()  # not covered by the first task's prepaid token
        done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(other_task)
        async with bucket.ahead():
            inside.set()
            await done.wait()
            assert bucket.acquired == 2
            await bucket.acquire()
            assert bucket.acquired == 2
