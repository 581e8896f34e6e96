"""Sharing one spec's videos with other runners (the state in PostgreSQL).

Every runner applying a spec plans all of its videos; the claims decide who does
which (``state/pg/claims.py``). A video task asks ``take`` before it works on a
video at the provider, and the share claims the waiting videos in batches: one
transaction per batch, ``FOR UPDATE SKIP LOCKED``, so two runners starting at once
leapfrog through the spec rather than collide on every video. A runner claims
at most ``window`` videos ahead of its submits (enough to keep its slots busy);
a video leaves the window once it is submitted (its render is only waited for)
or its task ends, so the renders in flight are not bounded by it, and the videos
not yet claimed stay free for the others.

A video another live runner holds is followed (``apply/following.py``): the
followers' looks at the database are gathered into one query per ``pause``, not
one per video, and a follower wakes only on news (its video is no longer held
there: settled, or its runner is gone): a runner following thousands of videos
costs the server one query a pause, the size of the others' claims.

Pure coordination: the database is behind ``ClaimBook`` (``PgJournal``), called in
a worker thread so the event loop never waits on a round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Sequence
from typing import Protocol


class ClaimBook(Protocol):
    def claim_batch(self, names: Sequence[str], limit: int) -> tuple[list[str], dict[str, str]]: ...

    def look_all(self, names: Sequence[str]) -> set[str]: ...

    def let_go(self, names: Sequence[str]) -> None: ...


#: How often the share says how the work stands (seconds): at most one line a while.
REPORT_EVERY = 2.0


class WorkShare:
    """The claims of one spec run (the module docstring)."""

    def __init__(
        self,
        book: ClaimBook,
        *,
        window: int,
        pause: float,
        report: Callable[[int, int], None] | None = None,
    ) -> None:
        self.book = book
        self.window = max(1, window)
        self.pause = pause
        self.report = report
        #: Videos waiting for a claim, in the order they asked (the plan's).
        self._waiting: dict[str, asyncio.Future[str | None]] = {}
        #: Videos this runner claimed whose task has not finished.
        self._held: set[str] = set()
        #: Of those, the ones not yet submitted: what ``window`` bounds.
        self._open: set[str] = set()
        #: Videos being followed: name -> the futures waiting for the next look.
        self._looking: dict[str, list[asyncio.Future[str | None]]] = {}
        self._claimer: asyncio.Task[None] | None = None
        self._looker: asyncio.Task[None] | None = None
        self._letting_go: list[str] = []
        self._releaser: asyncio.Future[None] | None = None
        self._wake = asyncio.Event()
        self._reported = 0.0

    async def take(self, name: str) -> str | None:
        """Claim video ``name``: None once this runner has it, else the live runner
        that has it (then the caller follows it)."""
        if name in self._held:
            return None
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._waiting[name] = future
        self._wake.set()
        if self._claimer is None or self._claimer.done():
            self._claimer = asyncio.create_task(self._claim_loop())
        return await future

    def adopt(self, name: str) -> None:
        """A video this runner claimed on its own (taking it over from a dead runner)."""
        self._held.add(name)
        self._open.add(name)

    def passed(self, name: str) -> None:
        """Video ``name`` is past its submit (or needs none): its place in the window
        is free for the next one."""
        if name in self._open:
            self._open.discard(name)
            self._wake.set()

    def finished(self, name: str) -> None:
        """The task of ``name`` is over: its claim is let go (after what the task
        recorded is committed), settled or not. A video left `submitted` or `pending`
        here is then another runner's to take over from its record; kept until this
        runner exits, it would hold up a runner following it, which might be what
        keeps this one from exiting."""
        if name in self._held:
            self._held.discard(name)
            self._letting_go.append(name)
            if self._releaser is None or self._releaser.done():
                self._releaser = asyncio.ensure_future(self._let_go_loop())
        self.passed(name)

    async def _let_go_loop(self) -> None:
        while self._letting_go:
            names, self._letting_go = self._letting_go, []
            with contextlib.suppress(Exception):  # unreleased, it lapses with its runner
                await asyncio.to_thread(self.book.let_go, names)

    async def look(self, name: str) -> None:
        """Wait for news of video ``name`` (no other live runner holds it any more),
        looked for with all the videos being followed at once; then its record is
        fresh in the journal's state."""
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._looking.setdefault(name, []).append(future)
        if self._looker is None or self._looker.done():
            self._looker = asyncio.create_task(self._look_loop())
        await future

    async def _claim_loop(self) -> None:
        while self._waiting:
            room = self.window - len(self._open)
            # Refill by the half window: one transaction claims many.
            if room < max(1, self.window // 2) and self._open:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Twice the room: where another runner holds the first names, this
            # batch still finds free ones further on.
            names = list(itertools.islice(self._waiting, max(2 * room, 16)))
            try:
                claimed, held = await asyncio.to_thread(self.book.claim_batch, names, room)
            except Exception as exc:  # the database is gone for good: every waiter fails
                for future in self._waiting.values():
                    if not future.done():
                        future.set_exception(exc)
                self._waiting.clear()
                return
            for name in claimed:
                self._held.add(name)
                self._open.add(name)
                self._settle(self._waiting.pop(name), None)
            for name, holder in held.items():
                self._settle(self._waiting.pop(name), holder)
            self._say()
            if not claimed and not held:
                # Every free name is locked by another runner's claim right now.
                await asyncio.sleep(self.pause)

    async def _look_loop(self) -> None:
        while self._looking:
            await asyncio.sleep(self.pause)
            batch, self._looking = self._looking, {}
            try:
                found = await asyncio.to_thread(self.book.look_all, list(batch))
            except Exception as exc:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for name, futures in batch.items():
                if name not in found:  # no news: still held there, asked again next time
                    waiting = [f for f in futures if not f.done()]  # not given up on
                    if waiting:
                        self._looking.setdefault(name, []).extend(waiting)
                    continue
                for future in futures:
                    self._settle(future, None)
            self._say()

    def _settle(self, future: asyncio.Future[str | None], value: str | None) -> None:
        if not future.done():  # its task may have been cancelled (--timeout, Ctrl-C)
            future.set_result(value)

    def _say(self) -> None:
        if self.report is None:
            return
        moment = time.monotonic()
        if moment - self._reported >= REPORT_EVERY:
            self._reported = moment
            self.report(len(self._held), len(self._looking))
