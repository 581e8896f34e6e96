"""WorkShare, the coordination of a runner's claims (apply/share.py), over a book of
claims kept in memory: the window bounds the videos claimed ahead of their submits,
a batch is one call, held videos go to their followers, and a follower wakes only
on news. The book's SQL is tested against a real server in tests/pg/test_claims.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from reelform.apply.share import WorkShare


class Book:
    """Claims in a dict: name -> runner. ``other`` holds what was given to it."""

    def __init__(self, held: dict[str, str] | None = None) -> None:
        self.owner: dict[str, str] = dict(held or {})
        self.batches: list[tuple[list[str], int]] = []
        self.looks: list[list[str]] = []
        self.news: set[str] = set()

    def claim_batch(self, names: Sequence[str], limit: int) -> tuple[list[str], dict[str, str]]:
        self.batches.append((list(names), limit))
        claimed = [n for n in names if self.owner.get(n, "me") == "me"][:limit]
        for name in claimed:
            self.owner[name] = "me"
        held = {n: r for n in names if (r := self.owner.get(n, "me")) != "me"}
        return claimed, held

    def let_go(self, names: Sequence[str]) -> None:
        for name in names:
            self.owner.pop(name, None)

    def look_all(self, names: Sequence[str]) -> set[str]:
        self.looks.append(list(names))
        found = self.news.intersection(names)
        self.news -= found
        return found


async def settle() -> None:
    """Long enough for the batches in flight (each runs in a worker thread)."""
    await asyncio.sleep(0.1)


def test_the_window_bounds_the_videos_claimed_ahead_of_their_submits() -> None:
    async def scenario() -> None:
        book = Book()
        share = WorkShare(book, window=4, pause=0.001)
        names = [f"v{i}" for i in range(12)]
        takes = [asyncio.ensure_future(share.take(n)) for n in names]
        await settle()
        assert sum(t.done() for t in takes) == 4  # the window, in one batch
        assert len(book.batches) == 1 and book.batches[0][1] == 4
        share.passed("v0")  # submitted: only waited for now
        await settle()
        assert sum(t.done() for t in takes) == 4  # refilled by half the window, not one
        share.passed("v1")
        await settle()
        assert sum(t.done() for t in takes) == 6
        for name in names[2:6]:
            share.finished(name)
        await settle()
        assert sum(t.done() for t in takes) == 10
        assert all(t.result() is None for t in takes if t.done())
        for name in names:
            share.finished(name)
        await asyncio.wait_for(asyncio.gather(*takes), 5)

    asyncio.run(scenario())


def test_videos_another_runner_holds_go_to_their_followers() -> None:
    async def scenario() -> None:
        book = Book(held={"v1": "other", "v3": "other"})
        share = WorkShare(book, window=8, pause=0.001)
        results = await asyncio.wait_for(
            asyncio.gather(*(share.take(f"v{i}") for i in range(5))), 5
        )
        assert results == [None, "other", None, "other", None]
        assert await share.take("v0") is None  # its own: no second batch
        assert len(book.batches) == 1

    asyncio.run(scenario())


def test_a_follower_wakes_only_on_news_and_one_look_serves_them_all() -> None:
    async def scenario() -> None:
        book = Book()
        share = WorkShare(book, window=8, pause=0.005)
        waiting = [asyncio.ensure_future(share.look(f"v{i}")) for i in range(50)]
        await asyncio.sleep(0.05)
        assert not any(w.done() for w in waiting)  # no news: nobody woken
        assert all(len(look) == 50 for look in book.looks)  # one query for all 50
        book.news |= {"v7", "v9"}  # their holders are gone, or done with them
        await asyncio.sleep(0.05)
        assert [i for i, w in enumerate(waiting) if w.done()] == [7, 9]
        assert waiting[7].result() is None and waiting[9].result() is None
        for w in waiting:
            w.cancel()  # given up (--timeout): no longer asked for
        await asyncio.sleep(0.05)
        before = len(book.looks)
        await asyncio.sleep(0.05)
        assert len(book.looks) == before

    asyncio.run(scenario())


def test_a_database_that_is_gone_fails_every_waiter_with_its_error() -> None:
    class Gone(Book):
        def claim_batch(self, names: Sequence[str], limit: int) -> tuple[list[str], dict[str, str]]:
            raise OSError("state database unreachable for 60 s")

    async def scenario() -> None:
        share = WorkShare(Gone(), window=4, pause=0.001)
        takes = [asyncio.ensure_future(share.take(f"v{i}")) for i in range(6)]
        for take in takes:
            with pytest.raises(OSError, match="unreachable"):
                await asyncio.wait_for(take, 5)

    asyncio.run(scenario())
