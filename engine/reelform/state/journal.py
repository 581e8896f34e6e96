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
from pathlib import Path
from typing import Any

import orjson

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
        self._file = self.path.open("ab", buffering=0)
        self._lock = threading.Lock()
        self._written = 0  # records written
        self._synced = 0  # records known durable
        self._sync_lock = threading.Lock()
        fsync_dir(self.path.parent)  # the journal's own directory entry must survive

    def record(self, section: str, key: str, value: dict[str, Any] | None, *,
               durable: bool = False) -> None:
        """Record one change; with ``durable`` it is on disk when this returns."""
        line = orjson.dumps({"s": section, "k": key, "v": value},
                            option=orjson.OPT_SORT_KEYS) + b"\n"
        with self._lock:
            self._file.write(line)  # unbuffered: one write() per record, never torn mid-way
            self._written += 1
            position = self._written
            self.state.apply_change(section, key, value)
        if durable:
            self.sync(position)

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
