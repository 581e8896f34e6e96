"""Writing a file so that a reader sees the old content or the new, never half.

Every file reelform writes in place (lockfiles, saved plans, caches, the local
renderer's job records, scaffolded files) goes through ``atomic_write``: a temp
file in the same folder, fsynced, renamed over the target, then the folder
fsynced so the rename itself survives a crash. The temp file never outlives a
failed write, except a SIGKILL's: ``sweep_temps`` removes those, called by the next
writer of the same file while it holds that file's lock.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def sweep_temps(path: Path) -> None:
    """Remove the temp files that a process killed inside ``atomic_write(path)`` left.

    Only safe for a caller that excludes every other writer of ``path`` (a lockfile's
    writer holds the spec's lock): another writer's temp file would be in use."""
    for leftover in path.parent.glob(f"{glob_escape(temp_prefix(path))}*.tmp"):
        leftover.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):  # some file systems cannot fsync a folder
            os.fsync(fd)
    finally:
        os.close(fd)
