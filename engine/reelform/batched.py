"""Blocking file work for an event loop, done in batches: one thread hop for many callers.

fsync, and creating a file, block for a fraction of a millisecond to several; on
the loop they would stall every request in flight. One thread hop per call costs
the loop more than the call itself when thousands run (a futex handoff of the GIL
and a self-pipe wakeup each). ``Batched`` keeps one batch in flight: the callers
that arrive meanwhile are served together by the next. So the number of hops
follows how often the disk answers, not how many callers there are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batched(Generic[T, R]):
    """``await batched(item)`` runs ``work`` in a thread over every item waiting.

    ``work`` returns one result or exception per item, in order: one item's failure
    is that caller's alone. A result whose caller has gone (cancelled) is handed to
    ``discard``, so that what it holds (an open file, say) is not leaked. A batch
    starts after each of its items was added, so for work like fsync it covers
    everything its callers did before calling.
    """

    def __init__(
        self,
        work: Callable[[Sequence[T]], Sequence[R | Exception]],
        *,
        discard: Callable[[T, R], None] | None = None,
    ) -> None:
        self._work = work
        self._discard = discard
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run())
        return await done

    async def _run(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    results = await asyncio.to_thread(self._work, [item for item, _ in batch])
                except Exception as exc:  # the work as a whole failed: each caller hears it
                    results = [exc] * len(batch)
                for (item, done), result in zip(batch, results, strict=True):
                    if done.done():
                        if self._discard is not None and not isinstance(result, Exception):
                            self._discard(item, result)
                    elif isinstance(result, Exception):
                        done.set_exception(result)
                    else:
                        done.set_result(result)
        finally:
            self._runner = None
            # Only when this task itself was stopped (the loop shutting down): nobody
            # will answer these callers, so they are not left waiting forever.
            for _, done in batch + self._waiting:
                if not done.done():
                    done.cancel()
            self._waiting = []
