"""What `watch` keeps between re-plans because it is safe to.

Both caches are keyed by the file's identity and stat (device, inode, size,
mtime), the same test git's index uses: a file rewritten in place or replaced
by rename gets a new key, so a stale entry is never served.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from reelform.project import sha256_file
from reelform.state.lockfile import LockState, journal_path, read_lock

StatKey = tuple[int, int, int, int] | None


def stat_key(path: Path) -> StatKey:
    try:
        facts = os.stat(path)
    except OSError:
        return None
    return facts.st_dev, facts.st_ino, facts.st_size, facts.st_mtime_ns


class LockCache:
    """Read each lockfile (and its journal) again only when one of them changed.

    `plan` only reads a LockState (its records are immutable) and `watch` never
    applies the real lockfile, so sharing one instance between re-plans is safe.
    """

    def __init__(self, reader: Callable[[Path], LockState] = read_lock) -> None:
        self._reader = reader
        self._states: dict[Path, tuple[tuple[StatKey, StatKey], LockState]] = {}

    def read(self, path: Path) -> LockState:
        key = (stat_key(path), stat_key(journal_path(path)))
        cached = self._states.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        state = self._reader(path)
        self._states[path] = (key, state)
        return state


class HashMemo:
    """sha256 of output files, kept while their stat is the same.

    After a clone every output's mtime differs from the lockfile's, so each plan
    would hash every video again; in a watch session that happens once.
    """

    def __init__(self) -> None:
        self._hashes: dict[Path, tuple[StatKey, str]] = {}

    def __call__(self, path: Path) -> str:
        key = stat_key(path)
        cached = self._hashes.get(path)
        if cached is not None and key is not None and cached[0] == key:
            return cached[1]
        digest = sha256_file(path)
        if key is not None:
            self._hashes[path] = (key, digest)
        return digest
