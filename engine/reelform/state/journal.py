"""The append-only journal beside a lockfile: O(1) durable events during apply.

Rewriting a 100,000-entry lockfile after every submit would make each event cost
O(n). Instead every change is one JSON line appended to ``<lock>.journal``:
``{"s": section, "k": key, "v": record or null}`` (the record's ``to_json``). Events
that must survive a crash (the intent before a submit, the job id after it) are fsynced before the
caller goes on; ``sync`` batches concurrent callers into one fsync (group commit).
``compact`` folds the journal into the lockfile (atomically) and removes it; it
runs at the end of apply and when the next apply starts.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import orjson

from reelform.atomic import sweep_temps
from reelform.batched import Batched
from reelform.state.lockfile import (
    SECTIONS,
    LockState,
    check_change,
    fsync_dir,
    journal_path,
    read_lock,
    write_lock,
)
from reelform.state.records import Record


class AppendFile(Protocol):
    """What the journal needs of its file (``FileIO`` in "ab" mode; tests fake it)."""

    @property
    def closed(self) -> bool: ...

    def write(self, data: memoryview, /) -> int | None: ...
    def truncate(self, size: int, /) -> int: ...
    def seek(self, offset: int, whence: int = ..., /) -> int: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...


class StateJournal(Protocol):
    """What apply records its changes through: ``Journal`` (the lockfile's) or the
    PostgreSQL backend's ``PgJournal`` (``state/pg/journal.py``). ``record`` changes
    ``state`` at once; a change is durable when ``record(durable=True)`` returns or
    once ``synced`` has reached its position (``sync``)."""

    @property
    def state(self) -> LockState: ...
    @property
    def written(self) -> int: ...
    @property
    def synced(self) -> int: ...

    def record(
        self, section: str, key: str, value: Record | None, *, durable: bool = False
    ) -> None: ...
    def record_all(
        self, changes: Sequence[tuple[str, str, Record | None]], *, durable: bool = False
    ) -> None: ...
    def sync(self, upto: int | None = None) -> None: ...
    def close(self) -> None: ...
    def compact(self) -> None: ...


def open_append(path: Path) -> AppendFile:
    # Unbuffered: every write() reaches the kernel, so its count is what landed.
    return path.open("ab", buffering=0)


class Journal:
    """Appends changes to the journal and mirrors them into ``state``."""

    def __init__(
        self,
        lock_path: Path,
        state: LockState,
        *,
        opener: Callable[[Path], AppendFile] = open_append,
    ) -> None:
        self.lock_path = lock_path
        self.path = journal_path(lock_path)
        self.state = state
        _drop_torn_tail(self.path)
        self._file = opener(self.path)
        #: Where the last whole record ends: what a failed write is cut back to.
        self._end = self._file.seek(0, os.SEEK_END)
        #: Set when a torn record could not be cut off: appending after it would
        #: fuse the two, so this journal takes no more records (the next open cuts it).
        self._broken: OSError | None = None
        self._lock = threading.Lock()
        self._written = 0  # records written
        self._synced = 0  # records known durable
        self._sync_lock = threading.Lock()
        fsync_dir(self.path.parent)  # the journal's own directory entry must survive

    def record(
        self, section: str, key: str, value: Record | None, *, durable: bool = False
    ) -> None:
        """Record one change (None: the record is removed); with ``durable`` it is on
        disk when this returns.

        A record, not its JSON: the change goes into ``state`` as it is, and the JSON
        is made here, the one place that writes it, so no caller can journal a dict
        of the wrong shape that the state would then hold too.
        """
        check_change(section, value)  # before it is written: a journal line is for good
        change = {"s": section, "k": key, "v": None if value is None else value.to_json()}
        line = orjson.dumps(change, option=orjson.OPT_SORT_KEYS) + b"\n"
        with self._lock:
            self._append(line)
            # Only a record that landed whole changes the state the caller goes on from.
            self._written += 1
            position = self._written
            self.state.apply_change(section, key, value)
        if durable:
            self.sync(position)

    def record_all(
        self, changes: Sequence[tuple[str, str, Record | None]], *, durable: bool = False
    ) -> None:
        """Record several changes in one append: all of them land, or none does.

        A crash mid-write keeps a prefix of them (the torn last line is dropped on the
        next open), so a caller orders them for every prefix to be a safe state.
        """
        lines = []
        for section, key, value in changes:
            check_change(section, value)
            change = {"s": section, "k": key, "v": None if value is None else value.to_json()}
            lines.append(orjson.dumps(change, option=orjson.OPT_SORT_KEYS) + b"\n")
        with self._lock:
            self._append(b"".join(lines))
            self._written += len(lines)
            position = self._written
            for section, key, value in changes:
                self.state.apply_change(section, key, value)
        if durable:
            self.sync(position)

    def _append(self, line: bytes) -> None:
        """Write all of ``line`` or none of it (raising the OSError)."""
        if self._broken is not None:
            raise OSError(
                self._broken.errno, f"{self.path}: the journal is unusable: {self._broken}"
            )
        start = self._end
        rest = memoryview(line)
        try:
            while rest:
                count = self._file.write(rest)
                if not count:  # None (would block) or 0: no progress; never spin on it
                    raise OSError(errno.EIO, f"{self.path}: write made no progress")
                rest = rest[count:]
        except BaseException as exc:
            try:
                self._file.truncate(start)
            except OSError as cut:
                self._broken = cut
            if isinstance(exc, OSError) and exc.filename is None:
                exc.filename = str(self.path)
            raise
        self._end = start + len(line)

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

    def __init__(self, journal: StateJournal) -> None:
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
    sweep_temps(lock_path)  # a run killed inside its last compaction left one
    journal = journal_path(lock_path)
    # Never create a lockfile that records nothing.
    if lock_path.exists() or any(state.section(name) for name in SECTIONS):
        write_lock(lock_path, state)
    journal.unlink(missing_ok=True)
    fsync_dir(lock_path.parent)
    return state
