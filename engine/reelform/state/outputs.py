"""Is a finished video's output file still what the lockfile says it is?

Like git's index: a file whose size and mtime match the lockfile is taken as
unchanged without reading it; only a file whose mtime moved is hashed.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from reelform.state.records import VideoRecord


class OutputStatus(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"
    CHANGED = "changed"  # present, but its sha256 differs from the lockfile's


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def output_status(
    directory: str, entry: VideoRecord, hash_file: Callable[[Path], str] = sha256_file
) -> OutputStatus | None:
    """The state of a completed entry's output file (None: the entry has none)."""
    output = entry.output
    if output is None:
        return None
    return file_status(
        directory, output.path, output.bytes, output.mtime_ns, output.sha256, hash_file
    )


def file_status(
    directory: str,
    path: str | None,
    size: int | None,
    mtime_ns: int | None,
    sha256: str | None,
    hash_file: Callable[[Path], str] = sha256_file,
) -> OutputStatus:
    """The state of the file an output record describes (``path`` from ``directory``)."""
    if not path:
        return OutputStatus.MISSING
    full = os.path.join(directory, path)  # strings: pathlib costs more
    try:
        facts = os.stat(full)
    except (OSError, ValueError):  # ValueError: a NUL in a hand-edited path names no file
        return OutputStatus.MISSING
    return _compared(facts, full, size, mtime_ns, sha256, hash_file)


def _compared(
    facts: os.stat_result,
    full: str,
    size: int | None,
    mtime_ns: int | None,
    sha256: str | None,
    hash_file: Callable[[Path], str],
) -> OutputStatus:
    if facts.st_size == size and (facts.st_mtime_ns == mtime_ns or hash_file(Path(full)) == sha256):
        return OutputStatus.OK
    return OutputStatus.CHANGED


#: Open a folder only to resolve names in it (Linux's O_PATH: no read permission
#: needed, as a stat of a file in it needs none).
_FOLDER_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | getattr(os, "O_DIRECTORY", 0)
_AT = os.stat in os.supports_dir_fd
_UNSEEN = -1  # not a descriptor: a folder not looked for yet


class OutputFolder:
    """``file_status`` for many files of one folder: a no-op plan's 100,000 outputs.

    Each file is stat'ed by its name in an open descriptor of the folder it is in, so
    the kernel resolves one name rather than the whole path again: 0.23 s instead of
    0.29 s for 100,000 files (bench/plan_noop_pg.py's project). The same answers as
    ``file_status``, which it falls back to where descriptors cannot be had. Use it in
    a ``with`` block: that closes the descriptors."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._folders: dict[str, int | None] = {}

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *_: object) -> None:
        for descriptor in self._folders.values():
            if descriptor is not None:
                os.close(descriptor)
        self._folders.clear()

    def status(
        self,
        path: str | None,
        size: int | None,
        mtime_ns: int | None,
        sha256: str | None,
        hash_file: Callable[[Path], str] = sha256_file,
    ) -> OutputStatus:
        if not path:
            return OutputStatus.MISSING
        # Recorded paths are POSIX (``as_posix``). An absolute one is the rare case: the
        # full path decides (as for a path ending in a slash, or without descriptors).
        head, _, name = path.rpartition("/")
        folder = None if path[0] == "/" or not name else self._folders.get(head, _UNSEEN)
        if folder is _UNSEEN:
            folder = self._folder(head)
        if folder is None:
            return file_status(self.directory, path, size, mtime_ns, sha256, hash_file)
        try:
            facts = os.stat(name, dir_fd=folder)
        except (OSError, ValueError):  # as in file_status
            return OutputStatus.MISSING
        if facts.st_size == size and facts.st_mtime_ns == mtime_ns:
            return OutputStatus.OK  # the common case, before anything else is computed
        full = os.path.join(self.directory, path)
        return _compared(facts, full, size, mtime_ns, sha256, hash_file)

    def _folder(self, head: str) -> int | None:
        """A descriptor of ``head`` (relative to the directory), opened once; None
        where there is none (no dir_fd here, or it cannot be opened: then the full
        path decides, and a missing folder is a missing file)."""
        descriptor: int | None = None
        if _AT:
            with contextlib.suppress(OSError, ValueError):
                descriptor = os.open(os.path.join(self.directory, head), _FOLDER_FLAGS)
        self._folders[head] = descriptor
        return descriptor
