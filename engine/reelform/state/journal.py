"""The append-only journal beside a lockfile: O(1) durable events during apply.

Rewriting a 100,000-entry lockfile after every submit would make each event cost
O(n). Instead every change is one JSON line appended to ``<lock>.journal``:
``{"s": section, "k": key, "v": record or null}``. Events that must survive a
crash (the intent before a submit, the job id after it) are fsynced before the
caller goes on; ``sync`` batches concurrent callers into one fsync (group commit).
``compact`` folds the journal into the lockfile (atomically) and removes it; it
runs at the end of apply and when the next apply starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from reelform.batched import Batched
from reelform.state.lockfile import (
    SECTIONS,
    LockState,
    fsync_dir,
    journal_path,
    read_lock,
    write_lock,
)


class Journal:
    """Appends changes to the journal and mirrors them into ``state``."""

    def __init__(self, lock_path: Path, state: LockState) -> None:
        self.lock_path = lock_path
        self.path = journal_path(lock_path)
        self.state = state
        _drop_torn_tail(self.path)
        self._file = self.path.open("ab", buffering=0)
        self._lock = threading.Lock()
        self._written = 0  # records written
        self._synced = 0  # records known durable
        self._sync_lock = threading.Lock()
        fsync_dir(self.path.parent)  # the journal's own directory entry must survive

    def record(
        self, section: str, key: str, value: dict[str, Any] | None, *, durable: bool = False
    ) -> None:
        """Record one change; with ``durable`` it is on disk when this returns."""
        line = (
            orjson.dumps({"s": section, "k": key, "v": value}, option=orjson.OPT_SORT_KEYS) + b"\n"
        )
        with self._lock:
            self._file.write(line)  # unbuffered: one write() per record, never torn mid-way
            self._written += 1
            position = self._written
            self.state.apply_change(section, key, value)
        if durable:
            self.sync(position)

    @property
    def written(self) -> int:
        """How many records this journal has written."""
        return self._written

    @property
    def synced(self) -> int:
        """How many of them are known to be durable."""
        return self._synced

    def sync(self, upto: int | None = None) -> None:
        """fsync, unless another caller's fsync already covered record ``upto``."""
        target = self._written if upto is None else upto
        with self._sync_lock:
            if self._synced >= target:
                return
            covered = self._written
            os.fsync(self._file.fileno())
            self._synced = max(self._synced, covered)

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def compact(self) -> None:
        """Fold the journal into the lockfile and remove it."""
        self.close()
        compact(self.lock_path, self.state)


class GroupCommit:
    """Makes a journal durable from an event loop: one fsync in flight at a time.

    Each fsync runs in a thread (the loop goes on) and covers every record written
    before it started; callers arriving meanwhile share the next one (``Batched``).
    """

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._sync: Batched[None, None] = Batched(self._sync_all)

    async def __call__(self) -> None:
        """Return once every record written before this call is durable."""
        if self._journal.synced < self._journal.written:
            await self._sync(None)

    def _sync_all(self, callers: Sequence[None]) -> list[None]:
        self._journal.sync()
        return [None] * len(callers)


def _drop_torn_tail(path: Path) -> None:
    """Cut a torn last record (a crash mid-append) before appending after it.

    Replay ignores a torn last line, but a record appended to it would fuse with
    it into one corrupt line in the middle of the journal, and every later read
    would refuse the journal.
    """
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        return
    with handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        keep, end = 0, size
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            newline = handle.read(end - start).rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        handle.truncate(keep)
        os.fsync(handle.fileno())


def compact(lock_path: Path, state: LockState | None = None) -> LockState:
    """Write the lockfile from lockfile + journal, then drop the journal.

    The lockfile is replaced atomically before the journal is removed, so a crash
    in between leaves a journal whose records are already in the lockfile:
    replaying them again is harmless (each record sets a value).
    """
    if state is None:
        state = read_lock(lock_path)
    journal = journal_path(lock_path)
    # Never create a lockfile that records nothing.
    if lock_path.exists() or any(state.section(name) for name in SECTIONS):
        write_lock(lock_path, state)
    journal.unlink(missing_ok=True)
    fsync_dir(lock_path.parent)
    return state
