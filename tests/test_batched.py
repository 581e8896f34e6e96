"""Batched: blocking work in one thread hop per batch of callers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from reelform.batched import Batched


def test_each_caller_gets_its_own_result_or_error() -> None:
    def work(items: Sequence[int]) -> list[int | Exception]:
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    async def main() -> list[int | BaseException]:
        batched: Batched[int, int] = Batched(work)
        return await asyncio.gather(*(batched(i) for i in range(4)), return_exceptions=True)

    first, odd, second, other_odd = asyncio.run(main())
    assert (first, second) == (0, 20)
    assert str(odd) == "odd 1" and str(other_odd) == "odd 3"


def test_work_that_fails_as_a_whole_fails_every_caller_of_its_batch() -> None:
    def work(items: Sequence[int]) -> list[int | Exception]:
        raise OSError(5, "Input/output error")

    async def main() -> list[int | BaseException]:
        batched: Batched[int, int] = Batched(work)
        return await asyncio.gather(batched(1), batched(2), return_exceptions=True)

    assert all(isinstance(r, OSError) for r in asyncio.run(main()))


def test_callers_arriving_during_a_batch_share_the_next_one() -> None:
    release = threading.Event()
    batches: list[list[int]] = []

    def work(items: Sequence[int]) -> list[int | Exception]:
        batches.append(list(items))
        if len(batches) == 1:
            release.wait(5)
        return list(items)

    async def main() -> None:
        batched: Batched[int, int] = Batched(work)
        first = asyncio.create_task(batched(0))
        await asyncio.sleep(0.05)  # the first batch is in its thread now
        later = [asyncio.create_task(batched(i)) for i in range(1, 6)]
        await asyncio.sleep(0.01)
        release.set()
        assert await first == 0
        assert await asyncio.gather(*later) == [1, 2, 3, 4, 5]

    asyncio.run(main())
    assert batches == [[0], [1, 2, 3, 4, 5]]


def test_a_stopped_runner_leaves_no_caller_waiting() -> None:
    release = threading.Event()

    def work(items: Sequence[int]) -> list[int | Exception]:
        release.wait(5)
        return list(items)

    async def main() -> None:
        batched: Batched[int, int] = Batched(work)
        caller = asyncio.create_task(batched(1))
        await asyncio.sleep(0.05)
        queued = asyncio.create_task(batched(2))
        await asyncio.sleep(0)
        runner = batched._runner
        assert runner is not None
        runner.cancel()  # as the loop's shutdown does
        with pytest.raises(asyncio.CancelledError):
            await caller
        with pytest.raises(asyncio.CancelledError):
            await queued
        release.set()

    asyncio.run(main())
