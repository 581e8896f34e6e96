"""Is a finished video's output file still what the lockfile says it is?

Like git's index: a file whose size and mtime match the lockfile is taken as
unchanged without reading it; only a file whose mtime moved is hashed.
"""

from __future__ import annotations

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
    except OSError:
        return OutputStatus.MISSING
    if facts.st_size == size and (facts.st_mtime_ns == mtime_ns or hash_file(Path(full)) == sha256):
        return OutputStatus.OK
    return OutputStatus.CHANGED
